import { hexDigest } from "./digests.ts";
import { emptyFindings, FOREIGN_PREFIX, isForeignFilePath, recordLink, resolveLink, withoutTrailingSlash } from "./links.ts";
import type { Provider, Classification, RewriteContext, Rewritten } from "./types.ts";

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


const PAGINATION_LINKS = ["first", "previous", "current", "next"] as const;

/** Rewrites `file_uri` (collecting `file_sha256`) and pagination links anywhere in a v3 document. */
export function rewritePuppetDocument(body: string, ctx: RewriteContext): Rewritten {
  const findings = emptyFindings();
  /**
   * The link as the client will see it. Links relative to the repository URL stay as they are:
   * the client puts them after the proxy's URL, so they resolve inside the remote.
   */
  const rewriteLink = (value: string, { api = false, digest = null as ReturnType<typeof hexDigest> } = {}): string => {
    const baseRelative = value.startsWith("/") && !value.startsWith("//");
    const link = resolveLink(baseRelative ? `${withoutTrailingSlash(ctx.upstreamBase)}${value}` : value, ctx, { keepQuery: api });
    if (!link) return value;
    recordLink(findings, link, digest);
    return baseRelative && link.upstream === null ? value : `/${link.path}${link.query}${link.fragment}`;
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const record = node as Record<string, unknown>;
    if (typeof record.file_uri === "string") {
      const digest = typeof record.file_sha256 === "string" ? hexDigest("sha256", record.file_sha256) : null;
      record.file_uri = rewriteLink(record.file_uri, { digest });
    }
    const pagination = record.pagination;
    if (typeof pagination === "object" && pagination !== null) {
      const links = pagination as Record<string, unknown>;
      for (const name of PAGINATION_LINKS) {
        const value = links[name];
        if (typeof value === "string") links[name] = rewriteLink(value, { api: true });
      }
    }
    Object.values(record).forEach(visit);
  };
  const document: unknown = JSON.parse(body);
  visit(document);
  return { body: JSON.stringify(document), ...findings };
}

export const puppet: Provider = {
  type: "puppet",
  classify: classifyPuppet,
  cacheKey: (path) => path,
  // API lists (`v3/releases?module=…&offset=20`) depend on their query; archives do not.
  queryParams: (path) => (API_DOCUMENT.test(path) ? "all" : []),
  rewriter: {
    rewrites: (path) => API_DOCUMENT.test(path),
    whole: rewritePuppetDocument,
  },
};
