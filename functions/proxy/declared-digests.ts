import type { StateStore } from "../../infra/state/types.ts";
import { hexDigest } from "../../providers/digests.ts";
import type { Digest } from "../../providers/types.ts";

/**
 * Digests that rewritten index documents declare for their files (PyPI `#sha256=`, npm
 * `dist.integrity`, Helm `digest`, Terraform `shasum`), kept in the state store so a later
 * download of the file is verified against them. They are keyed by the file's cache key (the
 * decoded, normalised path), so no other spelling of the path skips the check. Each rewrite of
 * an index renews them; a digest no index has declared for INDEX_FINDINGS_RETENTION_MS is
 * forgotten (bounded state).
 */
const digestKey = (remote: string, cacheKey: string) => `digest:${remote}:${cacheKey}`;
/** How long what an index declared (digests, linked URLs) is kept without a rewrite renewing it. */
export const INDEX_FINDINGS_RETENTION_MS = 30 * 24 * 3600_000;

export async function rememberDigests(state: StateStore, remote: string, digests: ReadonlyMap<string, Digest>): Promise<void> {
  if (digests.size === 0) return;
  await state.setMany([...digests].map(([cacheKey, digest]) => [digestKey(remote, cacheKey), `${digest.algorithm}=${digest.hex}`] as const), INDEX_FINDINGS_RETENTION_MS);
}

/** The digest an index declared for the file with this cache key. */
export async function declaredDigest(state: StateStore, remote: string, cacheKey: string): Promise<Digest | undefined> {
  const value = await state.get(digestKey(remote, cacheKey));
  const separator = value?.indexOf("=") ?? -1;
  if (!value || separator < 0) return undefined;
  return hexDigest(value.slice(0, separator), value.slice(separator + 1)) ?? undefined;
}
