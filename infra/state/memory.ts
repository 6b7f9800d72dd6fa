import type { StateStore } from "./types.ts";

interface Item {
  value: string;
  /** Epoch ms; null = no expiry. */
  expiresAt: number | null;
}

/**
 * State store in this isolate's memory, for the engine's own fast tests (Athens keeps an
 * in-memory backend for the same reason). It passes the contract every adapter passes; instances
 * made with the same `shared` map see each other, as clients of one Redis do.
 */
export class MemoryStateStore implements StateStore {
  readonly kind = "memory" as const;
  #roundTrips = 0;
  readonly #items: Map<string, Item>;

  constructor(shared: Map<string, Item> = new Map()) {
    this.#items = shared;
  }

  /** A store that shares this one's keys (another "client"). */
  connect(): MemoryStateStore {
    return new MemoryStateStore(this.#items);
  }

  get roundTrips(): number {
    return this.#roundTrips;
  }

  async get(key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#roundTrips++;
    this.#items.set(key, { value, expiresAt: expiresAt(ttlMs) });
  }

  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttlMs?: number): Promise<void> {
    this.#roundTrips++;
    for (const [key, value] of entries) this.#items.set(key, { value, expiresAt: expiresAt(ttlMs) });
  }

  async delete(key: string): Promise<void> {
    this.#roundTrips++;
    this.#items.delete(key);
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.#roundTrips++;
    let deleted = 0;
    for (const key of [...this.#items.keys()]) {
      if (!key.startsWith(prefix)) continue;
      if (this.#live(key, false)) deleted++;
      this.#items.delete(key);
    }
    return deleted;
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    const current = this.#live(key);
    const value = Number(current?.value ?? 0) + 1;
    this.#items.set(key, { value: String(value), expiresAt: current ? current.expiresAt : expiresAt(ttlMs) });
    return value;
  }

  async compareAndSet(key: string, expected: string | null, value: string, ttlMs?: number): Promise<boolean> {
    if ((this.#live(key)?.value ?? null) !== expected) return false;
    this.#items.set(key, { value, expiresAt: expiresAt(ttlMs) });
    return true;
  }

  async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.compareAndSet(key, null, owner, ttlMs);
  }

  async renewLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const current = this.#live(key);
    if (current?.value !== owner) return false;
    current.expiresAt = expiresAt(ttlMs);
    return true;
  }

  async releaseLock(key: string, owner: string): Promise<boolean> {
    if (this.#live(key)?.value !== owner) return false;
    this.#items.delete(key);
    return true;
  }

  async sweepExpired(limit: number): Promise<number> {
    let swept = 0;
    for (const [key, item] of this.#items) {
      if (swept >= limit) break;
      if (item.expiresAt !== null && item.expiresAt <= Date.now()) {
        this.#items.delete(key);
        swept++;
      }
    }
    return swept;
  }

  async ping(): Promise<void> {
    this.#roundTrips++;
  }

  async close(): Promise<void> {}

  /** The unexpired item at `key`; counts as one round trip unless told otherwise. */
  #live(key: string, counted = true): Item | undefined {
    if (counted) this.#roundTrips++;
    const item = this.#items.get(key);
    if (item && item.expiresAt !== null && item.expiresAt <= Date.now()) {
      this.#items.delete(key);
      return undefined;
    }
    return item;
  }
}

function expiresAt(ttlMs: number | undefined): number | null {
  return ttlMs === undefined ? null : Date.now() + ttlMs;
}
