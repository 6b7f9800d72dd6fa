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
  runtimes: ("miniflare" | "wrangler" | "workerd")[];
  /** Clients that miss one cold file at once (the waiters rows). */
  waiters: number;
  /** Whether the waiters rows also run on the huge file. */
  hugeWaiters: boolean;
}

const MiB = 1 << 20;

export function benchConfig(env: Record<string, string | undefined>): BenchConfig {
  const quick = env.BENCH_QUICK === "1";
  const number = envNumber(env);
  const runtimes = (env.BENCH_RUNTIMES ?? "miniflare,wrangler,workerd").split(",").map((name) => name.trim());
  for (const name of runtimes) if (!["miniflare", "wrangler", "workerd"].includes(name)) throw new Error(`BENCH_RUNTIMES: unknown runtime '${name}'`);
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
    waiters: number("BENCH_WAITERS", 20, 5),
    hugeWaiters: env.BENCH_HUGE_WAITERS !== "0",
  };
}

/** The real-client section (bench/clients.ts): npm, pip and skopeo through the proxy and its peers. */
export interface ClientBenchConfig {
  quick: boolean;
  /** Timed warm runs per client and path (the median is reported). */
  runs: number;
  npmPackages: number;
  pipWheels: number;
  imageBytes: number;
}

export function clientBenchConfig(env: Record<string, string | undefined>): ClientBenchConfig {
  const quick = env.BENCH_QUICK === "1";
  const number = envNumber(env);
  return {
    quick,
    runs: number("BENCH_CLIENT_RUNS", 5, 3),
    npmPackages: number("BENCH_NPM_PACKAGES", 20, 5),
    pipWheels: number("BENCH_PIP_WHEELS", 20, 5),
    imageBytes: number("BENCH_IMAGE_MIB", 50, 10) * MiB,
  };
}

/** The uploads section (bench/uploads.ts): a large PUT into a local repository. */
export interface UploadBenchConfig {
  quick: boolean;
  uploadBytes: number;
}

export function uploadBenchConfig(env: Record<string, string | undefined>): UploadBenchConfig {
  return { quick: env.BENCH_QUICK === "1", uploadBytes: envNumber(env)("BENCH_UPLOAD_MIB", 1024, 32) * MiB };
}

const SECTIONS = ["cache", "clients", "uploads"] as const;

/** Which tables a run prints: `BENCH_ONLY=cache`, `clients` or `uploads` for one of them, all by default. */
export function benchSections(env: Record<string, string | undefined>): Record<(typeof SECTIONS)[number], boolean> {
  const only = env.BENCH_ONLY;
  if (only !== undefined && !(SECTIONS as readonly string[]).includes(only)) throw new Error(`BENCH_ONLY: '${only}' is not one of ${SECTIONS.join(", ")}`);
  return { cache: only === undefined || only === "cache", clients: only === undefined || only === "clients", uploads: only === undefined || only === "uploads" };
}

/** A positive number from the environment, or the full run's or the smoke run's default. */
function envNumber(env: Record<string, string | undefined>): (name: string, full: number, smoke: number) => number {
  const quick = env.BENCH_QUICK === "1";
  return (name, full, smoke) => {
    const value = env[name] === undefined ? (quick ? smoke : full) : Number(env[name]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
    return value;
  };
}

export function formatSize(bytes: number): string {
  if (bytes >= 1 << 30 && bytes % (1 << 30) === 0) return `${bytes / (1 << 30)} GiB`;
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`;
  return `${+(bytes / 1024).toFixed(1)} KiB`;
}
