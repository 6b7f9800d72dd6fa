import type { ProxyContext } from "../context.ts";
import { restoreFromRecord } from "../proxy/commit.ts";
import { entryTtlMs, indexKey, readStoredEntry, type StoredEntry } from "../proxy/index-entry.ts";
import { serveEntry } from "../proxy/serve.ts";
import { contentKey } from "../storage/content-address.ts";

/**
 * The last complete merge of a document, kept aside while partial merges are served: a partial
 * merge (a member failing) replaces the virtual's cached copy for its short freshness, and if
 * every member then fails, the stale copy served must be the last merge that lacked no member —
 * a partial one only when no complete one was ever made (it still says what it lacks).
 */

/** Header of a merged copy that went without some members (merged-upstream.ts). */
export const PARTIAL_HEADER = "x-artifact-partial";

/** One merged document of a virtual: its cache key (and the path the artifact rows name). */
export interface MergedKey {
  virtual: string;
  cacheKey: string;
  path: string;
}

/** Ends the cache key of the kept copy (the objects browser says what it is). */
export const LAST_COMPLETE_SUFFIX = "#complete";

const completeTarget = (key: MergedKey) => {
  const cacheKey = `${key.cacheKey}${LAST_COMPLETE_SUFFIX}`;
  return { remoteName: key.virtual, path: key.path, cacheKey, indexKey: indexKey(key.virtual, cacheKey) };
};

/**
 * Called before a partial merge is committed over the cached copy: a complete copy there is kept
 * under its own key (its artifact row keeps its blob, which the replacement would otherwise drop),
 * never fresh, so it is only ever served stale. A partial copy there means the complete one was
 * kept already (or never existed).
 */
export async function keepLastComplete(ctx: ProxyContext, key: MergedKey): Promise<void> {
  const current = await readStoredEntry(ctx.stores.state, indexKey(key.virtual, key.cacheKey)).catch(() => null);
  if (!current || current.entry.headers?.[PARTIAL_HEADER] !== undefined) return;
  const target = completeTarget(key);
  // At its content address (a copy committed moments ago may still point at its upload).
  const entry = { ...current.entry, blobKey: contentKey(current.entry.sha256), freshUntil: 1 };
  const { sha256, size, contentType, fetchedAt } = entry;
  await ctx.stores.meta.recordArtifact({ remote: key.virtual, path: key.path, cacheKey: target.cacheKey, sha256, size, contentType, fetchedAt: new Date(fetchedAt), entry });
  await ctx.stores.state.set(target.indexKey, JSON.stringify(entry), entryTtlMs(entry));
}

/**
 * A stale partial copy (every member failed, and the copy the engine had was a partial merge) is
 * answered with the last complete merge instead, when one was kept and its bytes are there.
 */
export async function completeInsteadOfPartial(ctx: ProxyContext, key: MergedKey, request: Request, response: Response, extra: Record<string, string>): Promise<Response> {
  const reason = response.headers.get("x-artifact-stale-reason");
  if (reason === null || !response.headers.has(PARTIAL_HEADER)) return response;
  const target = completeTarget(key);
  const kept: StoredEntry | null = (await readStoredEntry(ctx.stores.state, target.indexKey).catch(() => null)) ?? (await restoreFromRecord(ctx, target));
  const served = kept && (await serveEntry(ctx.stores.blobs, kept.entry, request, { source: "cache", disposition: response.headers.get("content-disposition") ?? undefined, extra, stale: { reason, fetchedAt: kept.entry.fetchedAt } }));
  if (!served) return response;
  await response.body?.cancel();
  return served;
}
