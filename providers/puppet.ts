import { hexDigest } from "./digests.ts";
import { FOREIGN_PREFIX, isForeignFilePath, resolveLink } from "./links.ts";
import type { Classification, Digest, Provider, RewriteContext, Rewritten } from "./types.ts";

/**
 * Puppet Forge API v3. Clients append `file_uri` and pagination links to the repository URL they
 * were configured with (`puppet` requires a leading `/`), so links stay base-relative paths:
 * `/v3/files/…` is already right under the proxy; absolute URLs become `/<remote path>`.
 */

const API_DOCUMENT = /^v3\/(modules|releases|users)(\/[^/]+)*$/;

export function classifyPuppet(path: string): Classification {
  if (path.startsWith(FOREIGN_PREFIX)) {
    return isForeignFilePath(path)
      ? { kind: "immutable", reason: "release archive on another host" }
      : { kind: "denied", reason: "malformed foreign file path" };
  }
  if (/^v3\/files\/[^/]+$/.test(path)) return { kind: "immutable", reason: "release archive" };
  if (API_DOCUMENT.test(path)) return { kind: "mutable", reason: "Forge API document" };
  return { kind: "denied", reason: "not a Forge v3 read path" };
}

/** API lists (`v3/releases?module=…`) depend on the query: it joins the key, parameters sorted. */
export function puppetCacheKey(path: string, query: string | null | undefined): string {
  if (!query || !API_DOCUMENT.test(path)) return path;
  const params = new URLSearchParams(query);
  params.sort();
  const sorted = params.toString();
  return sorted ? `${path}?${sorted}` : path;
}

const PAGINATION_LINKS = ["first", "previous", "current", "next"] as const;

/** Rewrites `file_uri` (collecting `file_sha256`) and pagination links anywhere in a v3 document. */
export function rewritePuppetDocument(body: string, ctx: RewriteContext): Rewritten {
  const digests = new Map<string, Digest>();
  /** The link as the client will see it, and the remote path it names (null: left upstream). */
  const rewriteLink = (value: string): { value: string; path: string | null } => {
    // Already relative to the repository URL, which the client replaces with the proxy's.
    if (value.startsWith("/") && !value.startsWith("//")) return { value, path: value.slice(1).replace(/[?#].*$/, "") };
    const link = resolveLink(value, ctx);
    return link ? { value: `/${link.path}${link.suffix}`, path: link.path } : { value, path: null };
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const record = node as Record<string, unknown>;
    if (typeof record.file_uri === "string") {
      const link = rewriteLink(record.file_uri);
      record.file_uri = link.value;
      const digest = typeof record.file_sha256 === "string" ? hexDigest("sha256", record.file_sha256) : null;
      if (digest && link.path !== null) digests.set(link.path, digest);
    }
    const pagination = record.pagination;
    if (typeof pagination === "object" && pagination !== null) {
      const links = pagination as Record<string, unknown>;
      for (const name of PAGINATION_LINKS) {
        const value = links[name];
        if (typeof value === "string") links[name] = rewriteLink(value).value;
      }
    }
    Object.values(record).forEach(visit);
  };
  const document: unknown = JSON.parse(body);
  visit(document);
  return { body: JSON.stringify(document), digests };
}

export const puppet: Provider = {
  type: "puppet",
  classify: classifyPuppet,
  cacheKey: (path, variant) => puppetCacheKey(path, variant.query),
  rewriter: {
    defaultFileHosts: [],
    rewrites: (path) => API_DOCUMENT.test(path),
    rewrite: rewritePuppetDocument,
  },
};
