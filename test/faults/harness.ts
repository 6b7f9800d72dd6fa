import { sha256, sha256OfBody } from "../support/http.ts";

/**
 * What the fault scenarios share: one row of the fault table per scenario, and the tally of
 * what clients got. A body counts as corrupted only when a client received all of it without
 * an error (a 2xx whose transfer completed) and it is not one of the valid bodies; a transfer
 * that fails mid-way is a failed transfer ("cut"), which is what a client must see instead.
 */
export interface FaultRow {
  scenario: string;
  sent: number;
  /** Complete, correct bodies. */
  correct: number;
  /** Complete bodies that are not a valid version of the file: must be 0. */
  corrupted: number;
  /** Cached entries whose bytes are not a valid version of the file: must be 0. */
  partialKept: number;
  /** Answers that carried `Warning: 110` (a stale copy). */
  stale: number;
  /** Failed answers by status; "cut" = the transfer failed mid-body, "reset" = no answer at all. */
  errors: Record<string, number>;
  upstreamFetches: number;
  /** How long the row ran. */
  seconds: number;
  /** The scenario's own expectation, in words, and whether it held. */
  expectation: string;
  held: boolean;
  /** The slow-client row: fast clients' times with and without the slow one, and workerd's RSS peak. */
  timing?: { fastMedianMs: number; fastWorstMs: number; aloneMedianMs: number; rssPeakMiB: number | null };
}

/** How big the scenarios run: `npm test` runs them small, `npm run faults` larger. */
export interface FaultScale {
  /** The cold large file of the slow-client row. */
  largeFile: number;
  /** Files of the other rows. */
  file: number;
  /** Concurrent clients per row (the slow-client row has this many fast ones). */
  clients: number;
}

export const TEST_SCALE: FaultScale = { largeFile: 4 * 1024 * 1024, file: 2 * 1024 * 1024, clients: 20 };
export const BENCH_SCALE: FaultScale = { largeFile: 32 * 1024 * 1024, file: 8 * 1024 * 1024, clients: 20 };

export interface FaultEnv {
  scale: FaultScale;
  /** The Worker bundle (built once by the test setup or the benchmark). */
  bundleDir?: string;
}

export type Outcome = "correct" | "corrupted" | "cut" | "reset" | number;

/** Counts what clients got; `valid` are the sha256s of the bodies a client may receive. */
export class Tally {
  sent = 0;
  correct = 0;
  corrupted = 0;
  stale = 0;
  /** Complete, correct bodies that came from storage (`X-Artifact-Source: cache`). */
  fromCache = 0;
  readonly errors: Record<string, number> = {};
  readonly #started = performance.now();

  /** Sends one request and reads its answer to the end. */
  async get(url: string, valid: string[], init?: RequestInit): Promise<Outcome> {
    this.sent++;
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch {
      return this.#error("reset");
    }
    if (response.headers.get("warning")?.startsWith("110")) this.stale++;
    if (response.status >= 400) {
      await response.arrayBuffer().catch(() => {});
      return this.#error(response.status);
    }
    try {
      const { sha256 } = await sha256OfBody(response);
      if (!valid.includes(sha256)) return (this.corrupted++, "corrupted");
      if (response.headers.get("x-artifact-source") === "cache") this.fromCache++;
      return (this.correct++, "correct");
    } catch {
      return this.#error("cut");
    }
  }

  /** Runs `count` requests at once. */
  all(count: number, url: string, valid: string[]): Promise<Outcome[]> {
    return Promise.all(Array.from({ length: count }, () => this.get(url, valid)));
  }

  #error(outcome: "cut" | "reset" | number): Outcome {
    this.errors[String(outcome)] = (this.errors[String(outcome)] ?? 0) + 1;
    return outcome;
  }

  row(scenario: string, rest: Pick<FaultRow, "partialKept" | "upstreamFetches" | "expectation" | "held"> & Pick<Partial<FaultRow>, "timing">): FaultRow {
    const seconds = Math.round((performance.now() - this.#started) / 100) / 10;
    console.error(`faults: ${scenario}: ${seconds}s`);
    return { scenario, sent: this.sent, correct: this.correct, corrupted: this.corrupted, stale: this.stale, errors: { ...this.errors }, seconds, ...rest };
  }
}

/**
 * How many of these paths have a cached entry whose bytes are not valid: a HEAD says whether
 * the answer is from the cache (without asking the upstream for anything not cached), and a
 * cached one is then read whole.
 */
export async function partialEntries(files: { url: string; valid: string[] }[]): Promise<number> {
  let partial = 0;
  for (const { url, valid } of files) {
    const head = await fetch(url, { method: "HEAD" });
    if (head.headers.get("x-artifact-source") !== "cache") continue;
    const hit = await fetch(url);
    const { sha256 } = await sha256OfBody(hit);
    if (!valid.includes(sha256)) partial++;
  }
  return partial;
}

export { sha256 };

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};
