import { providers } from "../../providers/index.ts";
import { requestKey } from "../../providers/query.ts";
import type { ConfigSnapshot } from "../config/cache.ts";
import { remoteSchema, type RemoteConfig } from "../config/schema.ts";
import type { VirtualConfig } from "../config/virtual.ts";
import type { ProxyContext } from "../context.ts";
import { jsonError } from "../errors.ts";
import { localTypes } from "../locals/index.ts";
import type { ServedSource } from "../observe.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import type { RemotePath } from "../proxy/plan.ts";
import { proxyBase, type ProxyBase } from "../proxy/proxy-base.ts";
import { documentMerge, type DocumentMerge } from "./documents.ts";
import { routedMember } from "./file-routes.ts";
import { completeInsteadOfPartial } from "./last-complete.ts";
import { localChanged } from "./member-changes.ts";
import { askMember, LOCAL_PREFIX, membersFor, virtualMembers, type VirtualMember } from "./members.ts";
import { mergedDocument } from "./merged-upstream.ts";

/** Names the member that answered a file through the virtual. */
export const MEMBER_HEADER = "x-artifact-member";

/**
 * One read through a virtual: a merged document (cached under the virtual by the fetch-through
 * engine), or a file from the member the merged document routed it to, else from the first
 * member (in order) that has it.
 */
export async function serveVirtual(ctx: ProxyContext, virtual: VirtualConfig, config: ConfigSnapshot, request: Request, path: RemotePath, prefix: string): Promise<Response> {
  const all = virtualMembers(virtual, config);
  const members = membersFor(virtual, all, path.decoded);
  if (members instanceof Response) return members;
  const merge = documentMerge(virtual.package, path.decoded, request.headers.get("accept"));
  if (merge) return serveMerged(ctx, virtual, all, members, request, path, merge, proxyBase(request, virtual, prefix, ctx.env));
  return fileFromMembers(ctx, virtual, request, members, path);
}

/**
 * A merged document: cached under the virtual, one per variant (Accept) and per base its links
 * were built for. When every member fails and the copy there is a partial merge, the last
 * complete merge is the stale answer (last-complete.ts).
 */
export async function serveMerged(ctx: ProxyContext, virtual: VirtualConfig, all: VirtualMember[], members: VirtualMember[], request: Request, path: RemotePath, merge: DocumentMerge, base: ProxyBase): Promise<Response> {
  const key = { virtual: virtual.name, cacheKey: `${requestKey(providers[virtual.package]!, path.decoded, request.headers.get("accept"), path.search).cacheKey}@${base.url}`, path: path.decoded };
  const document = mergedDocument({
    ctx,
    key,
    request,
    members,
    path,
    merge,
    mergeContext: { virtualBase: base.url, path: path.raw, mergeLocalsWithRemotes: virtual.merge_locals_with_remotes },
  });
  const responseHeaders = { vary: ["Accept", ...base.vary].join(", "), ...merge.responseHeaders };
  const response = await fetchThrough(ctx, {
    remote: engineRemote(virtual, all),
    request,
    cacheKey: key.cacheKey,
    kind: "mutable",
    path: path.decoded,
    upstream: document.upstream,
    responseHeaders,
    rewriteBody: (merged) => ({ body: merged.body ?? new Blob([]).stream(), headersAtEnd: document.headersAtEnd }),
  });
  return completeInsteadOfPartial(ctx, key, request, response, responseHeaders);
}

/** A file: from the member the merged document routed it to, else from the first member (in order) that has it; counted under the virtual with that member. */
export async function fileFromMembers(ctx: ProxyContext, virtual: VirtualConfig, request: Request, members: VirtualMember[], path: RemotePath): Promise<Response> {
  const routed = await routedMember(ctx.stores.state, virtual.name, `${path.raw}${path.search}`);
  const owner = routed === null ? undefined : members.find((member) => member.member.name === routed);
  const response = owner ? await fromMember(ctx, virtual, request, owner, path) : await firstMatch(ctx, virtual, request, members, path);
  const { status, headers } = response;
  const member = headers.get(MEMBER_HEADER) ?? undefined;
  const bytes = request.method === "HEAD" ? 0 : Number(headers.get("content-length") ?? 0);
  ctx.observer.served({ remote: virtual.name, path: path.decoded, cacheKey: path.decoded, member, source: servedSource(response, owner ?? members.find((candidate) => candidate.member.name === member)), status, bytes });
  return response;
}

/** Where the member's answer came from, as stats count it: its cache, its upstream, a stale copy, a local's own file. */
function servedSource(response: Response, member: VirtualMember | undefined): ServedSource {
  if (response.status >= 400 || !member) return "error";
  if (response.headers.has("warning")) return "stale";
  if (member.member.kind === "local") return "local";
  return response.headers.get("x-artifact-source") === "remote" ? "remote" : "cache";
}

/** The first member that has the path; a member that fails is passed over, and its error answered only when no member has it. */
async function firstMatch(ctx: ProxyContext, virtual: VirtualConfig, request: Request, members: VirtualMember[], path: RemotePath): Promise<Response> {
  let failure: Response | null = null;
  for (const member of members) {
    const response = await fromMember(ctx, virtual, request, member, path);
    if (response.status < 400 || response.status === 416) return response;
    if (response.status === 404 || response.status === 410 || response.status === 403) await response.body?.cancel();
    else if (failure) await response.body?.cancel();
    else failure = response;
  }
  return failure ?? jsonError(404, "NOT_FOUND", `${virtual.name}: no member has ${path.decoded} (asked ${members.map((member) => member.member.name).join(", ") || "none"})`);
}

async function fromMember(ctx: ProxyContext, virtual: VirtualConfig, request: Request, member: VirtualMember, path: RemotePath): Promise<Response> {
  const response = await askMember(ctx, virtual.name, request, member, path, request.method === "HEAD" ? "HEAD" : "GET", request.headers);
  const headers = new Headers(response.headers);
  headers.set(MEMBER_HEADER, member.member.name);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Writes to a virtual go to its default_local, as a request to that local (its write tokens, its rules). */
export async function writeThroughVirtual(ctx: ProxyContext, virtual: VirtualConfig, config: ConfigSnapshot, request: Request, path: RemotePath): Promise<Response> {
  const local = virtual.default_local ? config.locals.get(virtual.default_local) : undefined;
  if (!local) {
    const why = virtual.default_local ? `its default_local '${virtual.default_local}' is not a configured local` : "it has no default_local";
    return jsonError(405, "METHOD_NOT_ALLOWED", `${virtual.name}: cannot write to this virtual: ${why}; set default_local to one of its local members`, { allow: "GET, HEAD" });
  }
  const type = localTypes[local.package];
  if (!type) return jsonError(501, "NOT_IMPLEMENTED", `${local.name}: locals of package '${local.package}' are not served by this version yet`);
  const url = new URL(request.url);
  url.pathname = `${LOCAL_PREFIX}/${local.name}/${path.raw}`;
  const forwarded = new Request(url, request);
  const response = await type.handle({ ...ctx, local, request: forwarded, path: path.decoded, baseUrl: proxyBase(request, local, LOCAL_PREFIX, ctx.env).url });
  // What was just published must show through this virtual (and every other one over the local) now, not after mutable_ttl.
  await localChanged(ctx, config, local, request, path.decoded, response);
  return response;
}

/**
 * The virtual as the fetch-through engine sees a remote: its merged documents' TTL (its own
 * mutable_ttl, else the smallest of its remote members'), absences not remembered (each member
 * remembers its own), and the members' longest timeouts for the merged body, which waits on theirs.
 */
const engineRemotes = new WeakMap<VirtualConfig, RemoteConfig>();

function engineRemote(virtual: VirtualConfig, members: VirtualMember[]): RemoteConfig {
  const known = engineRemotes.get(virtual);
  if (known) return known;
  const remotes = members.flatMap((member) => ("base_url" in member.config ? [member.config as RemoteConfig] : []));
  const ttls = remotes.map((remote) => remote.mutable_ttl);
  const remote: RemoteConfig = {
    name: virtual.name,
    ...remoteSchema.parse({
      base_url: "http://virtual.invalid/",
      package: virtual.package,
      allow_private_network: true,
      mutable_ttl: virtual.mutable_ttl ?? (ttls.length > 0 ? Math.min(...ttls) : DEFAULT_LOCALS_TTL),
      negative_ttl: 0,
      upstream_timeout: Math.max(30, ...remotes.map((member) => member.upstream_timeout)) + 5,
      fill_timeout: Math.max(1800, ...remotes.map((member) => member.fill_timeout)),
    }),
  };
  engineRemotes.set(virtual, remote);
  return remote;
}

/** A merged document over locals only: short, since a publish should show through the virtual soon. */
const DEFAULT_LOCALS_TTL = 60;
