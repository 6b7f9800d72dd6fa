/** What the benchmark measures and for how long, from the environment (BENCH_QUICK=1: a one-minute smoke run). */
export interface BenchConfig {
  quick: boolean;
  /** Seconds per wrk row. */
  seconds: number;
  connections: number;
  threads: number;
  /** Runs per large-transfer row (the median is reported). */
  runs: number;
  smallBytes: number;
  largeBytes: number;
  /** The miss during which workerd's RSS is sampled. */
  hugeBytes: number;
  /** Hits per batch for round-trip counts and RSS. */
  hits: number;
  nginxWorkers: number;
  runtimes: ("miniflare" | "wrangler")[];
}

const MiB = 1 << 20;

export function benchConfig(env: Record<string, string | undefined>): BenchConfig {
  const quick = env.BENCH_QUICK === "1";
  const number = (name: string, full: number, smoke: number) => {
    const value = env[name] === undefined ? (quick ? smoke : full) : Number(env[name]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
    return value;
  };
  const runtimes = (env.BENCH_RUNTIMES ?? "miniflare,wrangler").split(",").map((name) => name.trim());
  for (const name of runtimes) if (name !== "miniflare" && name !== "wrangler") throw new Error(`BENCH_RUNTIMES: unknown runtime '${name}'`);
  return {
    quick,
    seconds: number("BENCH_SECONDS", 10, 2),
    connections: number("BENCH_CONNECTIONS", 32, 16),
    threads: number("BENCH_THREADS", 2, 2),
    runs: number("BENCH_RUNS", 5, 3),
    smallBytes: number("BENCH_SMALL_KIB", 1, 1) * 1024,
    largeBytes: number("BENCH_LARGE_MIB", 100, 8) * MiB,
    hugeBytes: number("BENCH_HUGE_MIB", 1024, 32) * MiB,
    hits: number("BENCH_HITS", 10_000, 1_000),
    nginxWorkers: number("BENCH_NGINX_WORKERS", 1, 1),
    runtimes: runtimes as BenchConfig["runtimes"],
  };
}

export function formatSize(bytes: number): string {
  if (bytes >= 1 << 30 && bytes % (1 << 30) === 0) return `${bytes / (1 << 30)} GiB`;
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`;
  return `${+(bytes / 1024).toFixed(1)} KiB`;
}
