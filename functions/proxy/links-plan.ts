import { FOREIGN_PREFIX, safeDecode } from "../../providers/links.ts";
import { requestKey } from "../../providers/query.ts";
import type { Findings, IndexRewriter, LinkContext, Provider } from "../../providers/types.ts";
import { jsonError } from "../errors.ts";
import { declaredDigest, rememberDigests } from "./declared-digests.ts";
import { rewriteDocument, type RewrittenBody } from "./document-rewrite.ts";
import { linkedUrl, rememberLinks } from "./linked-files.ts";
import type { FetchPlan, PlanContext, RemotePath } from "./plan.ts";
import { httpUpstream, type Upstream } from "./upstream.ts";

/**
 * Completes a plan for a package type whose index documents carry links:
 * - an index document is rewritten so every link comes back through the proxy, and cached as
 *   rewritten under a key per proxy base (one per configured host); the digests it declares for
 *   its files and the URLs behind its `_files/` links are recorded by the files' cache keys;
 * - a file is verified against the digest an index declared for it, when one did;
 * - `_files/…` is fetched only from the URL an index of this remote linked for it.
 */
export async function withLinks(plan: FetchPlan, provider: Provider, path: RemotePath, context: PlanContext): Promise<FetchPlan | Response> {
  const { remote } = plan;
  const rewriter = provider.rewriter!;
  const withDigest = (upstream: Upstream): Upstream => ({
    ...upstream,
    declaredDigest: () => declaredDigest(context.state, remote.name, plan.cacheKey),
  });

  if (plan.path.startsWith(FOREIGN_PREFIX)) {
    const linked = await linkedUrl(context.state, remote.name, plan.cacheKey);
    if (!linked) {
      return jsonError(403, "DENIED", `${remote.name}: no index of this remote links that file; _files/ serves only the URLs its indexes link`);
    }
    return { ...plan, upstream: withDigest(httpUpstream(remote, context.env, new URL(linked))) };
  }
  if (!rewriter.rewrites(plan.path)) {
    return plan.kind === "immutable" ? { ...plan, upstream: withDigest(plan.upstream) } : plan;
  }
  const rewriteBody = (upstream: Response) => rewriteIndex(upstream, provider, rewriter, path.raw, context, plan);
  return {
    ...plan,
    cacheKey: `${plan.cacheKey}@${context.proxyBase.url}`,
    // The body depends on Accept (PyPI HTML/JSON, npm abbreviated) and on what the base was built from.
    responseHeaders: { ...plan.responseHeaders, vary: ["Accept", ...context.proxyBase.vary].join(", ") },
    rewriteBody,
  };
}

function rewriteIndex(upstream: Response, provider: Provider, rewriter: IndexRewriter, rawPath: string, context: PlanContext, plan: FetchPlan): RewrittenBody {
  const links: LinkContext = { proxyBase: context.proxyBase.url, upstreamBase: plan.remote.base_url };
  return rewriteDocument(upstream, {
    rewriter,
    ctx: { ...links, path: rawPath, contentType: upstream.headers.get("content-type") },
    maxDocumentSize: plan.remote.max_document_size,
    record: (findings) => recordFindings(context, plan.remote.name, provider, findings),
  });
}

/** Stores what an index declared, by each file's cache key: what a later request for the file looks up. */
async function recordFindings(context: PlanContext, remote: string, provider: Provider, findings: Findings): Promise<void> {
  const byCacheKey = <T>(entries: Map<string, T>) => new Map([...entries].map(([path, value]) => [fileCacheKey(provider, path), value] as const));
  await Promise.all([
    rememberDigests(context.state, remote, byCacheKey(findings.digests)),
    rememberLinks(context.state, remote, byCacheKey(findings.links)),
  ]);
}

/** The cache key a request for a linked path (percent-encoded, with its query) will have. */
function fileCacheKey(provider: Provider, link: string): string {
  const queryAt = link.indexOf("?");
  const path = queryAt < 0 ? link : link.slice(0, queryAt);
  return requestKey(provider, safeDecode(path), null, queryAt < 0 ? "" : link.slice(queryAt)).cacheKey;
}
