import type { StateStore } from "../../infra/state/types.ts";
import { decide } from "../../providers/access.ts";
import { providers } from "../../providers/index.ts";
import type { Digest, Mutability } from "../../providers/types.ts";
import type { RemoteConfig } from "../config/schema.ts";
import { jsonError } from "../errors.ts";
import type { IndexEntry } from "./index-entry.ts";
import { withLinks } from "./links-plan.ts";
import { upstreamUrl, type UpstreamRequest } from "./upstream.ts";

/**
 * Everything fetch-through needs to answer one request. Routes build it: the generic route
 * from the remote's rules and provider (planRemotePath below), others (CircleCI, docker)
 * from what they resolved first.
 */
export interface FetchPlan {
  remote: RemoteConfig;
  /** The client's request: method, conditional and range headers. */
  request: Request;
  cacheKey: string;
  kind: Mutability;
  /** Decoded path below the remote, for the file name and the artifact record. */
  path: string;
  upstream: URL;
  /** Headers sent upstream besides the remote's auth (Accept variants, API tokens). */
  upstreamHeaders?: Record<string, string>;
  /** Digest the file must match before it is stored; set, the file is stored whole before it is served. */
  verify?: Digest;
  /**
   * Looks up a digest an index declared for the file, for `verify`. Asked only when the file is
   * fetched from the upstream, so a hit still costs one state-store read.
   */
  declaredDigest?: () => Promise<Digest | undefined>;
  /** How browsers should treat the file; default: an attachment named after the path; "none": no header (registry APIs). */
  disposition?: "attachment" | "inline" | "none";
  /** The type to serve whatever the upstream says (CircleCI: from the file name, HTML as text). */
  contentType?: string;
  /** Added to every answer for this plan (e.g. which CI build was served). */
  responseHeaders?: Record<string, string>;
  /** Upstream response headers (lower-case) kept with the entry and replayed on hits (e.g. docker-content-digest). */
  replayHeaders?: string[];
  /**
   * Index documents whose links must point back at the proxy: the decoded upstream text in,
   * the text to store and serve out. Set, the document is stored whole before it is served.
   */
  rewrite?: (text: string, upstreamHeaders: Headers) => Promise<RewrittenDocument>;
  /**
   * A cheaper freshness check than a conditional GET for an expired entry (docker: a HEAD,
   * which registries do not rate-limit). True = the entry is still current.
   */
  revalidate?: (entry: IndexEntry) => Promise<boolean>;
  /**
   * Reaches the upstream instead of `fetchUpstream` with the remote's auth header, for
   * upstreams that need a handshake first (docker: the WWW-Authenticate token challenge).
   */
  upstreamFetch?: (request: UpstreamRequest) => Promise<Response>;
}

export interface RewrittenDocument {
  body: string;
  /** Response headers stored and replayed with the document (links rewritten, e.g. X-Terraform-Get). */
  headers?: Record<string, string>;
}

/** What planning needs besides the remote and the path. */
export interface PlanContext {
  state: StateStore;
  /** The remote's absolute URL as the client reached it (proxy-base.ts). */
  proxyBase: string;
}

/**
 * The generic plan: the remote's access rules and its provider's classification and cache key;
 * for package types whose indexes carry links, the rewriting and verification of links-plan.ts.
 */
export function planRemotePath(
  remote: RemoteConfig,
  rawPath: string,
  path: string,
  search: string,
  request: Request,
  context: PlanContext,
): FetchPlan | Response {
  const provider = providers[remote.package]!;
  const decision = decide(remote, provider, path);
  if (decision.kind === "denied") return jsonError(403, "DENIED", `${remote.name}: ${decision.reason}`);
  const accept = request.headers.get("accept");
  const plan: FetchPlan = {
    remote,
    request,
    cacheKey: provider.cacheKey(path, { accept, query: search.slice(1) || null }),
    kind: decision.kind,
    path,
    upstream: upstreamUrl(remote, rawPath, search),
    upstreamHeaders: accept ? { accept } : undefined,
  };
  return provider.rewriter ? withLinks(plan, provider.rewriter, rawPath, search, context) : plan;
}
