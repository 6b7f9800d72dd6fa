import type { StateStore } from "../../infra/state/types.ts";
import { hexDigest } from "../../providers/digests.ts";
import type { Digest } from "../../providers/types.ts";

/**
 * Digests that rewritten index documents declare for their files (PyPI `#sha256=`, npm
 * `dist.integrity`, Helm `digest`, Terraform `shasum`), kept in the state store so a later
 * download of the file is verified against them. Each rewrite of an index renews them; a
 * digest no index has declared for DIGEST_RETENTION_MS is forgotten (bounded state).
 */
const digestKey = (remote: string, path: string) => `digest:${remote}:${path}`;
const DIGEST_RETENTION_MS = 30 * 24 * 3600_000;

export async function rememberDigests(state: StateStore, remote: string, digests: ReadonlyMap<string, Digest>): Promise<void> {
  if (digests.size === 0) return;
  await state.setMany([...digests].map(([path, digest]) => [digestKey(remote, path), `${digest.algorithm}=${digest.hex}`] as const), DIGEST_RETENTION_MS);
}

/** The digest an index declared for this remote path (percent-encoded, as the client requests it). */
export async function declaredDigest(state: StateStore, remote: string, path: string): Promise<Digest | undefined> {
  const value = await state.get(digestKey(remote, path));
  const separator = value?.indexOf("=") ?? -1;
  if (!value || separator < 0) return undefined;
  return hexDigest(value.slice(0, separator), value.slice(separator + 1)) ?? undefined;
}
