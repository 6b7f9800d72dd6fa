import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StateStore } from "../../infra/state/types.ts";

const SHORT_TTL_MS = 300;
const PAST_TTL_MS = 600;

/**
 * One suite every state-store adapter must pass. `make` must return a new, independent instance
 * each call (its own connection), so the lock race is a real race between clients.
 */
export function stateStoreContract(name: string, make: () => Promise<StateStore>): void {
  describe(`StateStore contract: ${name}`, () => {
    const prefix = `contract:${crypto.randomUUID()}:`;
    const opened: StateStore[] = [];
    let store: StateStore;

    const open = async () => {
      const instance = await make();
      opened.push(instance);
      return instance;
    };

    beforeAll(async () => {
      store = await open();
    });

    afterAll(async () => {
      await store.deletePrefix(prefix);
      await Promise.all(opened.map((instance) => instance.close()));
    });

    it("gets what was set; a missing key is null", async () => {
      expect(await store.get(`${prefix}missing`)).toBeNull();
      await store.set(`${prefix}k`, "v1");
      expect(await store.get(`${prefix}k`)).toBe("v1");
      await store.set(`${prefix}k`, '{"json":"ü ✓"}');
      expect(await store.get(`${prefix}k`)).toBe('{"json":"ü ✓"}');
    });

    it("expires a key after its ttl; a later set without ttl removes the expiry", async () => {
      await store.set(`${prefix}ttl`, "soon", SHORT_TTL_MS);
      await store.set(`${prefix}kept`, "first", SHORT_TTL_MS);
      await store.set(`${prefix}kept`, "second");
      expect(await store.get(`${prefix}ttl`)).toBe("soon");
      await sleep(PAST_TTL_MS);
      expect(await store.get(`${prefix}ttl`)).toBeNull();
      expect(await store.get(`${prefix}kept`)).toBe("second");
    });

    it("sets many keys at once in one round trip, replacing values and expiries", async () => {
      await store.set(`${prefix}many:b`, "old", SHORT_TTL_MS);
      const before = store.roundTrips;
      await store.setMany([
        [`${prefix}many:a`, "1"],
        [`${prefix}many:b`, "2"],
        [`${prefix}many:c`, '{"sha256":"ab"}'],
      ]);
      expect(store.roundTrips).toBe(before + 1);
      await sleep(PAST_TTL_MS);
      expect(await store.get(`${prefix}many:a`)).toBe("1");
      expect(await store.get(`${prefix}many:b`)).toBe("2");
      expect(await store.get(`${prefix}many:c`)).toBe('{"sha256":"ab"}');
      await store.setMany([]);
    });

    it("sets many keys with one expiry", async () => {
      await store.setMany(
        [
          [`${prefix}many-ttl:a`, "1"],
          [`${prefix}many-ttl:b`, "2"],
        ],
        SHORT_TTL_MS,
      );
      expect(await store.get(`${prefix}many-ttl:b`)).toBe("2");
      await sleep(PAST_TTL_MS);
      expect(await store.get(`${prefix}many-ttl:a`)).toBeNull();
      expect(await store.get(`${prefix}many-ttl:b`)).toBeNull();
    });

    it("sets a batch larger than one request carries", async () => {
      const entries = Array.from({ length: 1200 }, (_, i) => [`${prefix}bulk:${i}`, `v${i}`] as const);
      await store.setMany(entries);
      expect(await store.get(`${prefix}bulk:0`)).toBe("v0");
      expect(await store.get(`${prefix}bulk:1199`)).toBe("v1199");
    });

    it("deletes a key", async () => {
      await store.set(`${prefix}del`, "x");
      await store.delete(`${prefix}del`);
      expect(await store.get(`${prefix}del`)).toBeNull();
      await store.delete(`${prefix}del`);
    });

    it("deletes by prefix, literally (glob characters are not patterns)", async () => {
      const p = `${prefix}dp:`;
      for (const key of ["a/1", "a/2", "a/b/3", "b/1", "g*/1", "gX/1"]) await store.set(`${p}${key}`, "x");
      await store.set(`${p}a/expired`, "x", 1);
      await sleep(20);
      expect(await store.deletePrefix(`${p}a/`)).toBe(3);
      expect(await store.get(`${p}a/1`)).toBeNull();
      expect(await store.get(`${p}b/1`)).toBe("x");
      expect(await store.deletePrefix(`${p}g*/`)).toBe(1);
      expect(await store.get(`${p}gX/1`)).toBe("x");
      expect(await store.deletePrefix(`${p}nothing/`)).toBe(0);
    });

    it("increments atomically from zero", async () => {
      const key = `${prefix}counter`;
      expect(await store.incr(key)).toBe(1);
      expect(await store.incr(key)).toBe(2);
      const others = await Promise.all(Array.from({ length: 4 }, () => open()));
      const results = await Promise.all(others.flatMap((other) => [other.incr(key), other.incr(key)]));
      expect(results.sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await store.get(key)).toBe("10");
    });

    it("restarts an expired counter at 1", async () => {
      const key = `${prefix}counter-ttl`;
      await store.set(key, "41", SHORT_TTL_MS);
      expect(await store.incr(key)).toBe(42);
      await sleep(PAST_TTL_MS);
      expect(await store.incr(key)).toBe(1);
    });

    it("counts in a window: a counter created with a TTL expires, increments keep its expiry", async () => {
      const key = `${prefix}counter-window`;
      expect(await store.incr(key, SHORT_TTL_MS)).toBe(1);
      expect(await store.incr(key, SHORT_TTL_MS * 100)).toBe(2);
      await sleep(PAST_TTL_MS);
      expect(await store.get(key)).toBeNull();
      expect(await store.incr(key, SHORT_TTL_MS)).toBe(1);
    });

    it("compare-and-set writes only over the expected value, or over nothing", async () => {
      const key = `${prefix}cas`;
      expect(await store.compareAndSet(key, "v0", "v1")).toBe(false);
      expect(await store.get(key)).toBeNull();
      expect(await store.compareAndSet(key, null, "v1")).toBe(true);
      expect(await store.compareAndSet(key, null, "v2")).toBe(false);
      expect(await store.compareAndSet(key, "v0", "v2")).toBe(false);
      expect(await store.get(key)).toBe("v1");
      expect(await store.compareAndSet(key, "v1", "v2", SHORT_TTL_MS)).toBe(true);
      expect(await store.get(key)).toBe("v2");
      await sleep(PAST_TTL_MS);
      expect(await store.get(key)).toBeNull();
      expect(await store.compareAndSet(key, "v2", "v3")).toBe(false);
      expect(await store.compareAndSet(key, null, "v3")).toBe(true);
    });

    it("lets exactly one of 10 concurrent compare-and-sets over the same value win", async () => {
      const key = `${prefix}cas:race`;
      await store.set(key, "base");
      const racers = await Promise.all(Array.from({ length: 10 }, () => open()));
      const won = await Promise.all(racers.map((racer, i) => racer.compareAndSet(key, "base", `writer-${i}`)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await store.get(key)).toBe(`writer-${won.indexOf(true)}`);
    });

    it("grants a lock to exactly one of 10 concurrent clients", async () => {
      const key = `${prefix}lock:race`;
      const racers = await Promise.all(Array.from({ length: 10 }, () => open()));
      const won = await Promise.all(racers.map((racer, i) => racer.acquireLock(key, `owner-${i}`, 10_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await store.get(key)).toBe(`owner-${won.indexOf(true)}`);
    });

    it("renews and releases only for the owner", async () => {
      const key = `${prefix}lock:owner`;
      expect(await store.acquireLock(key, "alice", 10_000)).toBe(true);
      expect(await store.acquireLock(key, "bob", 10_000)).toBe(false);
      expect(await store.renewLock(key, "bob", 10_000)).toBe(false);
      expect(await store.renewLock(key, "alice", 10_000)).toBe(true);
      expect(await store.releaseLock(key, "bob")).toBe(false);
      expect(await store.get(key)).toBe("alice");
      expect(await store.releaseLock(key, "alice")).toBe(true);
      expect(await store.releaseLock(key, "alice")).toBe(false);
      expect(await store.acquireLock(key, "bob", 10_000)).toBe(true);
    });

    it("keeps a renewed lease past its first expiry", async () => {
      const key = `${prefix}lock:renewed`;
      expect(await store.acquireLock(key, "alice", SHORT_TTL_MS)).toBe(true);
      expect(await store.renewLock(key, "alice", 5_000)).toBe(true);
      await sleep(PAST_TTL_MS);
      expect(await store.acquireLock(key, "bob", 5_000)).toBe(false);
    });

    it("lets another owner take over an expired lease; the old owner then loses it", async () => {
      const key = `${prefix}lock:expired`;
      expect(await store.acquireLock(key, "crashed", SHORT_TTL_MS)).toBe(true);
      await sleep(PAST_TTL_MS);
      expect(await store.renewLock(key, "crashed", 10_000)).toBe(false);
      expect(await store.acquireLock(key, "next", 10_000)).toBe(true);
      expect(await store.releaseLock(key, "crashed")).toBe(false);
      expect(await store.get(key)).toBe("next");
    });

    it("sweeps expired keys (where the backend does not expire them itself) and keeps live ones", async () => {
      await store.set(`${prefix}sweep:gone`, "x", 1);
      await store.set(`${prefix}sweep:kept`, "y");
      await sleep(20);
      const swept = await store.sweepExpired(10_000);
      expect(swept).toBeGreaterThanOrEqual(store.kind === "upstash" ? 0 : 1);
      expect(await store.get(`${prefix}sweep:gone`)).toBeNull();
      expect(await store.get(`${prefix}sweep:kept`)).toBe("y");
    });

    it("counts round trips", async () => {
      const before = store.roundTrips;
      await store.get(`${prefix}missing`);
      await store.set(`${prefix}rt`, "x");
      expect(store.roundTrips).toBe(before + 2);
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
