import { run } from "./processes.ts";

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses that were not 2xx/3xx, plus socket errors. */
  errors: number;
}

/** Many small requests over keep-alive connections for a fixed time (wrk, --latency). */
export async function wrk(url: string, options: { seconds: number; connections: number; threads: number }): Promise<WrkResult> {
  const args = [`-t${Math.min(options.threads, options.connections)}`, `-c${options.connections}`, `-d${options.seconds}s`, "--latency", url];
  const output = await run("wrk", args, (options.seconds + 30) * 1_000);
  const latency = (percentile: string) => {
    const match = output.match(new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m"));
    if (!match) throw new Error(`wrk output has no ${percentile}% latency:\n${output}`);
    return Number(match[1]) * { us: 0.001, ms: 1, s: 1_000 }[match[2] as "us" | "ms" | "s"];
  };
  const rate = output.match(/^Requests\/sec:\s+([\d.]+)/m);
  if (!rate) throw new Error(`wrk output has no Requests/sec:\n${output}`);
  const non2xx = Number(output.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const socketErrors = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socket = socketErrors ? socketErrors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0;
  return { requestsPerSecond: Number(rate[1]), p50Ms: latency("50"), p99Ms: latency("99"), errors: non2xx + socket };
}

export interface Transfer {
  status: number;
  ttfbMs: number;
  totalMs: number;
  bytes: number;
}

/** One download with curl, body discarded: time to first byte and total. */
export async function transfer(url: string, extraArgs: string[] = []): Promise<Transfer> {
  const output = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{time_total} %{size_download}", ...extraArgs, url], 600_000);
  const [status, ttfb, total, bytes] = output.trim().split(" ").map(Number);
  return { status: status!, ttfbMs: ttfb! * 1_000, totalMs: total! * 1_000, bytes: bytes! };
}

/** `count` GETs over `concurrency` keep-alive connections from Node; throws on any non-200. */
export async function hitLoop(url: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
