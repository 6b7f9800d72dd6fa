import type { RemoteConfig } from "../config/schema.ts";
import { evict } from "../storage/evict.ts";
import type { Stores } from "../stores.ts";

/** At most this many paths evicted per remote and run, so one run stays short; the next goes on. */
const MAX_EVICTIONS_PER_RUN = 2000;
const PAGE = 200;

export interface RetentionResult {
  remote: string;
  evicted: number;
  bytesFreed: number;
}

/**
 * A remote's retention rules: `unused_ttl` evicts what nobody asked for since; `max_size`
 * evicts the least recently used until what is kept fits (distribution#1140's "unused
 * artifacts cleanup"). Evicted paths are fetched again when asked for.
 */
export async function applyRetention(stores: Stores, remote: RemoteConfig, now: number): Promise<RetentionResult> {
  const result = { remote: remote.name, evicted: 0, bytesFreed: 0 };
  const evictPaths = async (rows: { path: string; size: number }[]) => {
    for (const row of rows) {
      const eviction = await evict(stores, remote.name, { path: row.path });
      result.evicted += eviction.evicted;
      result.bytesFreed += row.size;
    }
  };
  if (remote.unused_ttl > 0) {
    const before = new Date(now - remote.unused_ttl * 1000);
    for (;;) {
      const rows = await stores.meta.leastRecentlyUsed(remote.name, PAGE, before);
      await evictPaths(rows);
      if (rows.length < PAGE || result.evicted >= MAX_EVICTIONS_PER_RUN) break;
    }
  }
  if (remote.max_size > 0) {
    let stored = (await stores.meta.storageByRemote()).find((row) => row.remote === remote.name)?.bytes ?? 0;
    while (stored > remote.max_size && result.evicted < MAX_EVICTIONS_PER_RUN) {
      const rows = await stores.meta.leastRecentlyUsed(remote.name, PAGE);
      if (rows.length === 0) break;
      const over: typeof rows = [];
      for (const row of rows) {
        if (stored <= remote.max_size) break;
        over.push(row);
        stored -= row.size;
      }
      await evictPaths(over);
    }
  }
  return result;
}
