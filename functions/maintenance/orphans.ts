import type { Stores } from "../stores.ts";
import { releaseBlobs } from "../storage/content-address.ts";
import { evict } from "../storage/evict.ts";

const CURSOR_KEY = "maintenance:blob-sweep-cursor";
/** Listing pages of content blobs checked per run: a large bucket is covered over several runs. */
const PAGES_PER_RUN = 5;
const PAGE = 1000;
/** A blob younger than this may belong to a commit whose metadata record is still on its way. */
const GRACE_MS = 24 * 3600_000;

/** Content blobs nothing refers to (a replaced index document, a failed delete, an upload cut before its commit): removed after a grace period. */
export async function sweepUnreferencedBlobs(stores: Stores, now: number): Promise<number> {
  let cursor = (await stores.state.get(CURSOR_KEY)) ?? undefined;
  let deleted = 0;
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const listing = await stores.blobs.list("blobs/sha256/", { cursor, limit: PAGE });
    const old = listing.objects.filter((object) => object.uploaded.getTime() < now - GRACE_MS);
    // Under the blobs' locks: an upload committing the same bytes right now keeps them.
    deleted += (await releaseBlobs(stores.blobs, stores.locals, old.map((object) => object.key.slice("blobs/sha256/".length)))).length;
    cursor = listing.cursor ?? undefined;
    if (!cursor) break; // a full pass is done; the next run starts over
  }
  await (cursor ? stores.state.set(CURSOR_KEY, cursor) : stores.state.delete(CURSOR_KEY));
  return deleted;
}

/** Deletes the content blob of `sha256` unless something (a cached artifact, a local's file) still refers to it. */
export async function dropIfUnreferenced(stores: Stores, sha256: string): Promise<boolean> {
  return (await releaseBlobs(stores.blobs, stores.locals, [sha256])).length > 0;
}

/** State keys a remote leaves besides its index entries (evict removes those with its objects). */
const REMOTE_PREFIXES = ["digest", "link", "absent", "lock", "dockerauth", "circleci", "breaker:failures", "breaker:paths", "breaker:path", "breaker:open", "breaker:tripped"];

/** Everything a deleted remote left behind: cached objects, their blobs (when unshared), and its state keys. */
export async function purgeRemote(stores: Stores, remote: string): Promise<number> {
  const { evicted } = await evict(stores, remote, { prefix: "" });
  for (const prefix of REMOTE_PREFIXES) await stores.state.deletePrefix(`${prefix}:${remote}:`);
  for (const key of ["breaker:failures", "breaker:paths", "breaker:open", "breaker:tripped"]) await stores.state.delete(`${key}:${remote}`);
  return evicted;
}
