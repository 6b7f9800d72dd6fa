import type { StateStore } from "../../infra/state/types.ts";
import { decide } from "../../providers/access.ts";
import { providers } from "../../providers/index.ts";
import { requestKey } from "../../providers/query.ts";
import type { Digest, Mutability } from "../../providers/types.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { jsonError } from "../errors.ts";
import type { RewrittenBody } from "./document-rewrite.ts";
import { withLinks } from "./links-plan.ts";
import type { ProxyBase } from "./proxy-base.ts";
import { httpUpstream, upstreamUrl, type Upstream } from "./upstream.ts";

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
  /** Where a miss fetches from, and how it checks a stored copy. */
  upstream: Upstream;
  /** A digest the file must match before it becomes a cache entry (docker: the reference). */
  verify?: Digest;
  /** How browsers should treat the file; default: an attachment named after the path; "none": no header (registry APIs). */
  disposition?: "attachment" | "inline" | "none";
  /** The type to serve whatever the upstream says (CircleCI: from the file name, HTML as text). */
  contentType?: string;
  /** Added to every answer for this plan (e.g. which CI build was served). */
  responseHeaders?: Record<string, string>;
  /** Upstream response headers (lower-case) kept with the entry and replayed on hits (e.g. docker-content-digest). */
  replayHeaders?: string[];
  /**
   * Index documents whose links must point back at the proxy: the upstream response in
   * (Content-Encoding already decoded), the rewritten body out, streamed (document-rewrite.ts).
   * A document is answered once it is rewritten and stored, so a failure can fall back to the
   * stale copy.
   */
  rewriteBody?: (upstream: Response) => RewrittenBody;
  /**
   * The request as it arrived, when the plan follows from its method, URL and Accept and the
   * config alone (the generic remote route): a whole hit may then be answered before routing the
   * next time it is asked (hot-route.ts).
   */
  hotRoute?: Request;
}

/** What planning needs besides the remote and the path. */
export interface PlanContext {
  state: StateStore;
  env: Env;
  /** The remote's absolute URL that rewritten documents point at (proxy-base.ts). */
  proxyBase: ProxyBase;
}

/** A path below a remote, as the client sent it and decoded. */
export interface RemotePath {
  /** Percent-encoded as sent, for the upstream URL. */
  raw: string;
  /** Decoded, for rules, keys and file names. */
  decoded: string;
  /** The query string with its `?`, or "". */
  search: string;
}

/**
 * The one front every way into a remote shares (the routes, probe, prefetch): a path that
 * decodes and has no `.`/`..` segment (which could climb above base_url), or the 400/404 answer.
 */
export function parseRemotePath(raw: string, search = ""): RemotePath | Response {
  if (raw === "") return jsonError(404, "NOT_FOUND", "a file path is needed after the remote name");
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return jsonError(400, "BAD_PATH", "the path is not valid percent-encoding");
  }
  if (decoded.split("/").some((segment) => segment === ".." || segment === ".")) {
    return jsonError(400, "BAD_PATH", "the path must not contain '.' or '..' segments");
  }
  return { raw, decoded, search };
}

/**
 * The generic plan: the remote's access rules and its provider's classification and cache key;
 * for package types whose indexes carry links, the rewriting and verification of links-plan.ts.
 */
export async function planRemotePath(remote: RemoteConfig, path: RemotePath, request: Request, context: PlanContext): Promise<FetchPlan | Response> {
  const provider = providers[remote.package]!;
  const decision = decide(remote, provider, path.decoded);
  if (decision.kind === "denied") return jsonError(403, "DENIED", `${remote.name}: ${decision.reason}`);
  // The key holds the query parameters the type keeps; the upstream is asked exactly what the key names.
  const accept = request.headers.get("accept");
  const key = requestKey(provider, path.decoded, accept, path.search);
  const upstreamAccept = provider.upstreamAccept?.(path.decoded, accept);
  const plan: FetchPlan = {
    remote,
    request,
    cacheKey: key.cacheKey,
    kind: decision.kind,
    path: path.decoded,
    upstream: httpUpstream(remote, context.env, upstreamUrl(remote, path.raw, key.search), { headers: upstreamAccept ? { accept: upstreamAccept } : {} }),
  };
  return provider.rewriter ? withLinks(plan, provider, path, context) : plan;
}
