import type { StateStore } from "../../infra/state/types.ts";
import { INDEX_FINDINGS_RETENTION_MS } from "./declared-digests.ts";

/**
 * The upstream URLs behind `_files/…` paths, recorded when an index of the remote that links
 * them is rewritten: a `_files/` path is fetched only from the URL recorded for its cache key,
 * so a client cannot make a remote fetch (or send its credentials to) anything its indexes did
 * not link. Like declared digests, each rewrite of an index renews them, and a link no index
 * has declared for INDEX_FINDINGS_RETENTION_MS is forgotten.
 */
const linkKey = (remote: string, cacheKey: string) => `link:${remote}:${cacheKey}`;

/**
 * Looked-up links, per isolate, so a hot `_files/` hit costs no state read. Safe to keep: a
 * `_files/` key names its URL (host, path, query), so a later index cannot point it elsewhere.
 */
const known = new Map<string, string>();
const KNOWN_MAX = 10_000;

export async function rememberLinks(state: StateStore, remote: string, links: ReadonlyMap<string, string>): Promise<void> {
  if (links.size === 0) return;
  await state.setMany([...links].map(([cacheKey, url]) => [linkKey(remote, cacheKey), url] as const), INDEX_FINDINGS_RETENTION_MS);
}

/** The URL an index of this remote linked for a `_files/` cache key, or null when none did. */
export async function linkedUrl(state: StateStore, remote: string, cacheKey: string): Promise<string | null> {
  const key = linkKey(remote, cacheKey);
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  const url = await state.get(key);
  if (url === null || !URL.canParse(url)) return null;
  if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value!);
  known.set(key, url);
  return url;
}
