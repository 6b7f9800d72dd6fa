import { Redis } from "@upstash/redis/cloudflare";
import { assertReachable, DEFAULT_BACKEND_TIMEOUT_SECONDS, noteTimeout } from "../backend-timeout.ts";
import { BackendUnavailable } from "../unavailable.ts";
import type { StateStore } from "./types.ts";

export interface UpstashOptions {
  /** UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  /** Longest wait for one command (all its retries) before the state store counts as unavailable. */
  timeoutMs?: number;
}

/** Keys per MSET: keeps each request well under Upstash's request size limit. */
const MSET_BATCH = 500;

/** Compare-and-extend: only the current owner may renew (atomic on the server). */
const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
/** INCR that gives a counter it creates an expiry, in one round trip. */
const INCR_WINDOW = `local n = redis.call("INCR", KEYS[1]) if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end return n`;
/** Compare-and-set: ARGV[1] "1" = expect absent, else expect ARGV[2]; ARGV[4] a TTL in ms or "". */
const COMPARE_AND_SET = `local current = redis.call("GET", KEYS[1])
if ARGV[1] == "1" then if current then return 0 end elseif current ~= ARGV[2] then return 0 end
if ARGV[4] == "" then redis.call("SET", KEYS[1], ARGV[3]) else redis.call("SET", KEYS[1], ARGV[3], "PX", ARGV[4]) end
return 1`;
/** Compare-and-delete: only the current owner may release. */
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

/**
 * State store on Upstash Redis over REST. Auto-pipelining is off: every call is one HTTP request,
 * so `roundTrips` is an honest count for the hit-path budget (one state round trip per hit).
 */
export class UpstashStateStore implements StateStore {
  readonly kind = "upstash" as const;
  #roundTrips = 0;
  readonly #redis: Redis;

  constructor(options: UpstashOptions) {
    this.#redis = new Redis({
      url: options.url,
      token: options.token,
      automaticDeserialization: false, // values are plain strings; callers own their encoding
      enableAutoPipelining: false,
      enableTelemetry: false,
      // A down backend must fail within ~0.2 s, not after the client's default 5 retries (~4 s):
      // the request path then serves from the metadata store instead.
      retry: { retries: 2, backoff: (attempt) => 50 * (attempt + 1) },
      // A fresh deadline per command; a hung endpoint is then an outage, not a request that never ends.
      signal: () => AbortSignal.timeout(options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_SECONDS * 1000),
    });
  }

  get roundTrips(): number {
    return this.#roundTrips;
  }

  get(key: string): Promise<string | null> {
    return this.#call((r) => r.get<string>(key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#call((r) => (ttlMs === undefined ? r.set(key, value) : r.set(key, value, { px: ttlMs })));
  }

  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttlMs?: number): Promise<void> {
    for (let start = 0; start < entries.length; start += MSET_BATCH) {
      const batch = entries.slice(start, start + MSET_BATCH);
      if (ttlMs === undefined) {
        await this.#call((r) => r.mset(Object.fromEntries(batch)));
      } else {
        // MSET takes no expiry: one pipelined SET … PX per key, still one request.
        await this.#call((r) => {
          const pipeline = r.pipeline();
          for (const [key, value] of batch) pipeline.set(key, value, { px: ttlMs });
          return pipeline.exec();
        });
      }
    }
  }

  async delete(key: string): Promise<void> {
    await this.#call((r) => r.del(key));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const match = `${escapeGlob(prefix)}*`;
    let cursor = "0";
    let deleted = 0;
    do {
      const [next, keys] = await this.#call((r) => r.scan(cursor, { match, count: 500 }));
      if (keys.length > 0) deleted += await this.#call((r) => r.del(...keys));
      cursor = String(next);
    } while (cursor !== "0");
    return deleted;
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    if (ttlMs === undefined) return this.#call((r) => r.incr(key));
    return Number(await this.#call((r) => r.eval(INCR_WINDOW, [key], [String(ttlMs)])));
  }

  async compareAndSet(key: string, expected: string | null, value: string, ttlMs?: number): Promise<boolean> {
    const args = [expected === null ? "1" : "0", expected ?? "", value, ttlMs === undefined ? "" : String(ttlMs)];
    return Number(await this.#call((r) => r.eval(COMPARE_AND_SET, [key], args))) === 1;
  }

  async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.#call((r) => r.set(key, owner, { nx: true, px: ttlMs }))) !== null;
  }

  async renewLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return Number(await this.#call((r) => r.eval(RENEW, [key], [owner, String(ttlMs)]))) === 1;
  }

  async releaseLock(key: string, owner: string): Promise<boolean> {
    return Number(await this.#call((r) => r.eval(RELEASE, [key], [owner]))) === 1;
  }

  async sweepExpired(): Promise<number> {
    return 0; // Redis expires keys itself
  }

  async ping(): Promise<void> {
    await this.#call((r) => r.ping());
  }

  async close(): Promise<void> {
    // Stateless HTTP: nothing to close.
  }

  async #call<T>(command: (redis: Redis) => Promise<T>): Promise<T> {
    assertReachable("state");
    this.#roundTrips++;
    try {
      return await command(this.#redis);
    } catch (error) {
      if ((error as Error).name === "TimeoutError") noteTimeout("state");
      throw isCommandError(error) ? error : new BackendUnavailable("state", error);
    }
  }
}

/**
 * Redis refused the command itself (`ERR …`, `WRONGTYPE …`, `NOSCRIPT …`): the client's fault,
 * not an outage. Anything else — a network error, a 5xx from the REST endpoint — is an outage.
 */
function isCommandError(error: unknown): boolean {
  return error instanceof Error && error.name === "UpstashError" && /^[A-Z]{2,}\b/.test(error.message);
}

/** SCAN MATCH treats `* ? [ ] \` as glob syntax; a prefix must match literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
