/**
 * State store: short-lived keys with optional expiry, fetch-lock leases.
 * Production: Upstash Redis (REST). Embedded default: Postgres tables.
 * Values are strings; callers own their encoding (JSON).
 */
export interface StateStore {
  readonly kind: "upstash" | "postgres" | "memory";
  get(key: string): Promise<string | null>;
  /** ttlMs omitted = no expiry. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets many keys (all with expiry `ttlMs`, or none) in as few round trips as the backend allows. */
  setMany(entries: ReadonlyArray<readonly [key: string, value: string]>, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes every key starting with prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Atomic increment of an integer counter (created at 0); returns the new value. With ttlMs, a
   * counter this call creates expires after it (a window: later increments keep that expiry).
   */
  incr(key: string, ttlMs?: number): Promise<number>;
  /**
   * Writes `value` only if the key holds exactly `expected` now (null: only if it is absent or
   * expired); atomic on the server. True when it wrote. Commits use it so that a slower writer
   * never overwrites a newer value it has not seen.
   */
  compareAndSet(key: string, expected: string | null, value: string, ttlMs?: number): Promise<boolean>;
  /** Take the lease if free or expired. True when `owner` now holds it. */
  acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Extend the lease only while `owner` still holds it. */
  renewLock(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Compare-and-delete: releases only if `owner` holds it. */
  releaseLock(key: string, owner: string): Promise<boolean>;
  /** Removes up to `limit` expired keys where the backend does not expire them itself; how many. */
  sweepExpired(limit: number): Promise<number>;
  ping(): Promise<void>;
  /** Round trips made so far by this instance (for the benchmark's budget check). */
  readonly roundTrips: number;
  close(): Promise<void>;
}
