import { FOREIGN_PREFIX, fileUpstreamUrl } from "../../providers/links.ts";
import type { IndexRewriter, LinkContext, RewriteContext } from "../../providers/types.ts";
import { jsonError } from "../errors.ts";
import { declaredDigest, rememberDigests } from "./declared-digests.ts";
import type { FetchPlan, PlanContext, RemotePath } from "./plan.ts";
import { httpUpstream, type Upstream } from "./upstream.ts";

/**
 * Completes a plan for a package type whose index documents carry links:
 * - an index document is rewritten so every link comes back through the proxy, and cached as
 *   rewritten under a key per proxy base (scheme + host), so a hit is served without parsing;
 *   the digests it declares for its files are remembered;
 * - a file is verified against the digest an index declared for it, when one did;
 * - `_files/<host>/…` is fetched from that host only if the remote may fetch from it.
 */
export function withLinks(plan: FetchPlan, rewriter: IndexRewriter, path: RemotePath, context: PlanContext): FetchPlan | Response {
  const { remote } = plan;
  const links: LinkContext = {
    proxyBase: context.proxyBase,
    upstreamBase: remote.base_url,
    fileHosts: [...remote.file_hosts, ...rewriter.defaultFileHosts],
  };
  const withDigest = (upstream: Upstream): Upstream => ({
    ...upstream,
    declaredDigest: () => declaredDigest(context.state, remote.name, path.raw),
  });

  if (path.raw.startsWith(FOREIGN_PREFIX)) {
    const url = fileUpstreamUrl(path.raw, links);
    if (!url) return jsonError(403, "DENIED", `${remote.name}: files from that host are not proxied (see file_hosts)`);
    const upstream = httpUpstream(remote, context.env, new URL(`${url}${path.search}`));
    return { ...plan, upstream: withDigest(upstream) };
  }
  if (!rewriter.rewrites(plan.path)) {
    return plan.kind === "immutable" ? { ...plan, upstream: withDigest(plan.upstream) } : plan;
  }
  return {
    ...plan,
    cacheKey: `${plan.cacheKey}@${context.proxyBase}`,
    // The body depends on Accept (PyPI HTML/JSON, npm abbreviated) and on the host asked.
    responseHeaders: { ...plan.responseHeaders, vary: "Accept, X-Forwarded-Host, X-Forwarded-Proto" },
    rewrite: async (text, upstreamHeaders) => {
      const ctx: RewriteContext = { ...links, path: path.raw, contentType: upstreamHeaders.get("content-type") };
      const { body, digests } = rewriter.rewrite(text, ctx);
      await rememberDigests(context.state, remote.name, digests);
      return { body, headers: rewrittenLinkHeaders(rewriter, upstreamHeaders, ctx) };
    },
  };
}

function rewrittenLinkHeaders(rewriter: IndexRewriter, upstreamHeaders: Headers, ctx: RewriteContext): Record<string, string> | undefined {
  const headers = Object.entries(rewriter.linkHeaders ?? {}).flatMap(([name, rewrite]) => {
    const value = upstreamHeaders.get(name);
    return value === null ? [] : [[name, rewrite(value, ctx)] as const];
  });
  return headers.length > 0 ? Object.fromEntries(headers) : undefined;
}
