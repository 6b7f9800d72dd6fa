import { isUnavailable } from "../../infra/unavailable.ts";
import type { ProxyContext } from "../context.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { dropIfUnreferenced } from "../maintenance/orphans.ts";
import { copyToContentAddress } from "../storage/content-address.ts";
import { entryTtlMs, parseEntry, readStoredEntry, type IndexEntry, type StoredEntry } from "./index-entry.ts";

/** The state-store side of a cached key: its index entry and who wrote it last. */
export interface CommitTarget {
  remoteName: string;
  path: string;
  cacheKey: string;
  indexKey: string;
}

/**
 * An entry the state store no longer has (expired, flushed) from its metadata record, written
 * back so the next requests are hits again. Null when there is no record.
 */
export async function restoreFromRecord(ctx: ProxyContext, target: CommitTarget): Promise<StoredEntry | null> {
  const recorded = parseEntry(JSON.stringify((await ctx.stores.meta.artifactEntry(target.remoteName, target.cacheKey).catch(() => null)) ?? null));
  if (!recorded) return null;
  const written = await ctx.stores.state.compareAndSet(target.indexKey, null, recorded.raw, entryTtlMs(recorded.entry)).catch(() => false);
  return written ? recorded : readStoredEntry(ctx.stores.state, target.indexKey).catch(() => recorded);
}

/** Attempts at a compare-and-set before giving up to a busier writer. */
const ATTEMPTS = 3;

/**
 * Makes `entry` the answer for its key, unless a newer one (fetched later) is there: every write
 * is a compare-and-set against what was read, so a slower leader never overwrites a newer entry,
 * and a refresh that raced another is read again. Null when a newer entry won.
 * With the state store down the entry is kept by the metadata record alone (see recordArtifact).
 */
export async function writeIfNewer(ctx: ProxyContext, target: CommitTarget, seen: StoredEntry | null, entry: IndexEntry): Promise<StoredEntry | null> {
  const raw = JSON.stringify(entry);
  let current = seen;
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (current && current.entry.fetchedAt > entry.fetchedAt) return null;
      if (await ctx.stores.state.compareAndSet(target.indexKey, current?.raw ?? null, raw, entryTtlMs(entry))) return { entry, raw };
      current = await readStoredEntry(ctx.stores.state, target.indexKey);
    }
    return null;
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    return { entry, raw };
  }
}

/**
 * After a commit: copies the upload to its content address, points the entry there (unless it
 * changed meanwhile), removes the upload and records the artifact for browsing, stats and the state-store-down
 * fallback. Resolves to the entry as it now is.
 */
export async function promote(ctx: ProxyContext, target: CommitTarget, committed: StoredEntry, blob: StoredBlob, replaced: IndexEntry | undefined): Promise<IndexEntry> {
  const blobKey = await copyToContentAddress(ctx.stores.blobs, blob);
  const entry = { ...committed.entry, blobKey };
  await ctx.stores.state.compareAndSet(target.indexKey, committed.raw, JSON.stringify(entry), entryTtlMs(entry)).catch(() => false);
  await ctx.stores.blobs.delete(blob.key);
  ctx.background.run(
    recordArtifact(ctx, target, entry).then(async (recorded) => {
      // A replaced version (an index document that changed) leaves its blob unless something shares it.
      if (recorded && replaced && replaced.sha256 !== entry.sha256) await dropIfUnreferenced(ctx.stores, replaced.sha256);
    }),
  );
  return entry;
}

/**
 * The metadata record of a cached file. While Postgres is down records wait in the isolate
 * (a bounded number; beyond that the oldest are dropped, with a log line) and go out with the
 * next record that succeeds.
 */
const waiting: Array<Parameters<ProxyContext["stores"]["meta"]["recordArtifact"]>[0]> = [];
const MAX_WAITING = 1000;

/** True when the record is written now (false: it waits for Postgres). */
async function recordArtifact(ctx: ProxyContext, target: CommitTarget, entry: IndexEntry): Promise<boolean> {
  const record = {
    remote: target.remoteName,
    path: target.path,
    cacheKey: target.cacheKey,
    sha256: entry.sha256,
    size: entry.size,
    contentType: entry.contentType,
    fetchedAt: new Date(entry.fetchedAt),
    entry,
  };
  try {
    await ctx.stores.meta.recordArtifact(record);
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    waiting.push(record);
    if (waiting.length > MAX_WAITING) console.error(`metadata store down: artifact record of ${waiting.shift()!.path} dropped`);
    return false;
  }
  while (waiting.length > 0) {
    const next = waiting[0]!;
    if (!(await ctx.stores.meta.recordArtifact(next).then(() => true, () => false))) break;
    waiting.shift();
  }
  return true;
}
