import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Forwarder } from "./forwarder.ts";
import { median } from "./load.ts";
import type { Cleanup } from "./processes.ts";
import { proxyOnMiniflare } from "./runtimes.ts";

/** The three ways a client reaches packages: through this proxy, through the ecosystem's own cache, or straight from the upstream. */
export type ClientPath = "proxy" | "peer" | "direct";

export interface Contender {
  path: ClientPath;
  /** One client run from a clean client state; returns the milliseconds of the client command alone. */
  run(): Promise<number>;
  /** The counting forwarder between this path and the upstream, when its requests are counted. */
  upstream?: Forwarder;
}

export interface Timing {
  /** The first run, which fills the caches. */
  coldMs: number;
  /** Median of the warm runs. */
  medianMs: number;
  /** Upstream requests per warm run (null: not counted). */
  upstreamPerRun: number | null;
}

export type ClientResult = Partial<Record<ClientPath, Timing>>;

/**
 * Runs each contender once to warm it, then `runs` rounds with the contenders interleaved in
 * each round, so a change in the machine's load falls on all of them alike.
 */
export async function timeWarmRuns(name: string, contenders: Contender[], runs: number): Promise<ClientResult> {
  const cold = new Map<ClientPath, number>();
  for (const contender of contenders) {
    cold.set(contender.path, await contender.run());
    log(`${name} (${contender.path}): cold run ${Math.round(cold.get(contender.path)!)} ms`);
  }
  const warm = new Map<ClientPath, number[]>(contenders.map((contender) => [contender.path, []]));
  const requests = new Map<ClientPath, number>(contenders.map((contender) => [contender.path, 0]));
  for (let round = 0; round < runs; round++) {
    for (const contender of contenders) {
      const before = contender.upstream?.count ?? 0;
      warm.get(contender.path)!.push(await contender.run());
      requests.set(contender.path, requests.get(contender.path)! + (contender.upstream?.count ?? 0) - before);
    }
  }
  const result: ClientResult = {};
  for (const contender of contenders) {
    const timing = {
      coldMs: cold.get(contender.path)!,
      medianMs: median(warm.get(contender.path)!),
      upstreamPerRun: contender.upstream ? requests.get(contender.path)! / runs : null,
    };
    log(`${name} (${contender.path}): warm median ${Math.round(timing.medianMs)} ms of ${runs}; upstream requests per run ${timing.upstreamPerRun ?? "not counted"}`);
    result[contender.path] = timing;
  }
  return result;
}

/** Wall-clock milliseconds of `work`. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The proxy as `npm start` runs it with no backend variables (embedded backends), serving `remotes`; returns its URL. */
export async function startClientProxy(cleanup: Cleanup, dir: string, remotes: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, "remotes.yaml");
  await writeFile(configPath, stringify({ remotes }));
  const proxy = await proxyOnMiniflare(cleanup, { configPath, dataDir: dir, env: {} });
  return proxy.url;
}

export function log(line: string): void {
  console.error(`bench: ${line}`);
}
