import type { EvictionTarget } from "../../infra/meta/types.ts";
import { CONFIG_VERSION_KEY } from "../config/cache.ts";
import { forgetEntry } from "../proxy/hot-entries.ts";
import { indexKey, readEntry } from "../proxy/index-entry.ts";
import type { Stores } from "../stores.ts";
import { releaseBlobs } from "./content-address.ts";

const BATCH = 500;
const PARALLEL = 16;

export interface Eviction {
  evicted: number;
  blobsDeleted: number;
  paths: string[];
}

/**
 * Removes cached objects: their artifact rows, their index entries (which carry the freshness
 * TTL; every isolate drops the ones it keeps within ~2 s), and each blob once no row refers to
 * its sha256 any more (identical files in other paths, remotes or locals share one blob).
 */
export async function evict(stores: Stores, remote: string, target: EvictionTarget): Promise<Eviction> {
  const paths: string[] = [];
  const digests = new Set<string>();
  let blobsDeleted = 0;
  for (;;) {
    const rows = await stores.meta.deleteArtifacts(remote, target, BATCH);
    await inBatches(rows, async (row) => {
      const key = indexKey(remote, row.cacheKey);
      forgetEntry(key); // this isolate at once; the others once they see the version move
      const entry = await readEntry(stores.state, key);
      await stores.state.delete(key);
      // Right after a miss the entry points at its upload until promotion moves it.
      if (entry?.blobKey.startsWith("uploads/")) await stores.blobs.delete(entry.blobKey);
    });
    for (const row of rows) {
      paths.push(row.path);
      digests.add(row.sha256);
    }
    if (rows.length < BATCH) break;
  }
  // Everything of the remote: entries whose artifact row was never written go too.
  if ("prefix" in target && target.prefix === "") await stores.state.deletePrefix(indexKey(remote, ""));
  // Isolates keep index entries they served (hot-entries.ts) until the version they watch moves.
  if (paths.length > 0) await stores.state.incr(CONFIG_VERSION_KEY);
  // A blob stays while anything else (another path, a local's upload) has the same bytes.
  const candidates = [...digests];
  for (let i = 0; i < candidates.length; i += BATCH) blobsDeleted += (await releaseBlobs(stores.blobs, stores.locals, candidates.slice(i, i + BATCH))).length;
  return { evicted: paths.length, blobsDeleted, paths };
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(work));
}
