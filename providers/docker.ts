import { hexDigest } from "./digests.ts";
import type { Classification, Digest, Provider } from "./types.ts";

/**
 * Docker / OCI distribution v2. Paths below the remote are `<repository>/manifests/<tag|digest>`,
 * `<repository>/blobs/<digest>` and `<repository>/tags/list`.
 */

/** Every manifest type a proxy must accept, so the upstream never converts or refuses. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
] as const;

export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");

export type RegistryPath =
  | { kind: "manifest"; repository: string; reference: string; digest: Digest | null }
  | { kind: "blob"; repository: string; reference: string; digest: Digest }
  | { kind: "tags"; repository: string };

/** The distribution spec's repository name grammar: lowercase path components. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([A-Za-z0-9=_-]+)$/;

/** Parses a path below the remote; null when it is not a registry path. */
export function parseRegistryPath(path: string): RegistryPath | null {
  const tags = /^(.+)\/tags\/list$/.exec(path);
  if (tags) return REPOSITORY.test(tags[1]!) ? { kind: "tags", repository: tags[1]! } : null;
  const match = /^(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!match || !REPOSITORY.test(match[1]!)) return null;
  const [, repository, section, reference] = match as unknown as [string, string, string, string];
  const digest = parseDigest(reference);
  if (section === "blobs") return digest ? { kind: "blob", repository, reference, digest } : null;
  if (!digest && !TAG.test(reference)) return null;
  return { kind: "manifest", repository, reference, digest };
}

/** `sha256:<hex>` (or sha512) as a verifiable digest; null for tags and unverifiable algorithms. */
export function parseDigest(reference: string): Digest | null {
  const match = DIGEST.exec(reference);
  if (!match || (match[1] !== "sha256" && match[1] !== "sha512")) return null;
  return hexDigest(match[1], match[2]!);
}

/** Docker Hub serves official images under `library/`: `alpine` → `library/alpine`. */
export function upstreamRepository(baseUrl: string, repository: string): string {
  const dockerHub = new URL(baseUrl).hostname === "registry-1.docker.io";
  return dockerHub && !repository.includes("/") ? `library/${repository}` : repository;
}

/** The upstream path (below base_url) for a parsed registry path. */
export function upstreamPath(baseUrl: string, parsed: RegistryPath): string {
  const repository = upstreamRepository(baseUrl, parsed.repository);
  if (parsed.kind === "tags") return `v2/${repository}/tags/list`;
  return `v2/${repository}/${parsed.kind === "manifest" ? "manifests" : "blobs"}/${parsed.reference}`;
}

/** The token scope that reads a repository. */
export function pullScope(upstreamRepo: string): string {
  return `repository:${upstreamRepo}:pull`;
}

export interface BanRules {
  ban_tags_enabled: boolean;
  ban_tags: string[];
}

/** A tag refused by the remote's `ban_tags` (only when `ban_tags_enabled`); digests are never banned. */
export function isBannedTag(rules: BanRules, parsed: RegistryPath): boolean {
  return rules.ban_tags_enabled && parsed.kind === "manifest" && parsed.digest === null && rules.ban_tags.includes(parsed.reference);
}

/** Error codes of the distribution spec that this proxy answers with. */
export type RegistryErrorCode =
  | "NAME_UNKNOWN"
  | "NAME_INVALID"
  | "MANIFEST_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "SIZE_INVALID"
  | "RANGE_INVALID"
  | "TAG_INVALID"
  | "DIGEST_INVALID"
  | "DENIED"
  | "UNAUTHORIZED"
  | "TOOMANYREQUESTS"
  | "UNAVAILABLE"
  | "UNSUPPORTED";

export interface RegistryErrorBody {
  errors: { code: RegistryErrorCode; message: string; detail?: unknown }[];
}

export function registryError(code: RegistryErrorCode, message: string, detail?: unknown): RegistryErrorBody {
  return { errors: [detail === undefined ? { code, message } : { code, message, detail }] };
}

/** What "not found" means for each kind of path. */
export function unknownCode(parsed: RegistryPath): RegistryErrorCode {
  return parsed.kind === "blob" ? "BLOB_UNKNOWN" : parsed.kind === "manifest" ? "MANIFEST_UNKNOWN" : "NAME_UNKNOWN";
}

export const docker: Provider = {
  type: "docker",
  classify(path): Classification {
    const parsed = parseRegistryPath(path);
    if (!parsed) return { kind: "denied", reason: "not a registry v2 path" };
    if (parsed.kind === "tags") return { kind: "mutable", reason: "tag lists change" };
    if (parsed.digest) return { kind: "immutable", reason: "content addressed by digest" };
    return { kind: "mutable", reason: "tags move" };
  },
  // Upstream requests always carry MANIFEST_ACCEPT, so the client's Accept does not vary the body.
  cacheKey: (path) => path,
  // Tag lists page with `n` and `last`; manifests and blobs take no query.
  queryParams: (path) => (/\/tags\/list$/.test(path) ? ["n", "last"] : []),
};
