import type { AccessRules } from "../../providers/access.ts";
import { memberOrder, type Member, type MemberRules } from "../../providers/merge/index.ts";
import { providers } from "../../providers/index.ts";
import type { ConfigSnapshot } from "../config/cache.ts";
import { isLocal, type RepositoryConfig } from "../config/schema.ts";
import type { VirtualConfig } from "../config/virtual.ts";
import type { ProxyContext } from "../context.ts";
import { jsonError } from "../errors.ts";
import { serveDockerRemote } from "../docker/remote.ts";
import { dockerLocal } from "../locals/docker.ts";
import { localTypes } from "../locals/index.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import { planRemotePath, type RemotePath } from "../proxy/plan.ts";
import { proxyBase } from "../proxy/proxy-base.ts";
import { forVirtual, VIA_VIRTUAL_HEADER } from "./member-observer.ts";

/**
 * A virtual's members as the request path uses them, and one request to a member made exactly
 * as a client's request to that member would be (its rules, its cache, its documents rewritten
 * for its own URL): a request through the virtual warms the member.
 */

export const REMOTE_PREFIX = "/api/v1/remote";
export const LOCAL_PREFIX = "/api/v1/local";

export interface VirtualMember extends MemberRules {
  member: Member;
  config: RepositoryConfig;
}

/** The virtual's members in order (a member missing from the config, deleted meanwhile, is left out). */
export function virtualMembers(virtual: VirtualConfig, config: ConfigSnapshot): VirtualMember[] {
  return virtual.members.flatMap((name) => {
    const repository = config.locals.get(name) ?? config.remotes.get(name);
    if (!repository) return [];
    const access: AccessRules = isLocal(repository)
      ? { patterns: repository.patterns, blocklist: repository.blocklist, mutable_patterns: [], immutable_patterns: [] }
      : repository;
    return [{ member: { name, kind: isLocal(repository) ? "local" : "remote" }, config: repository, access }];
  });
}

/**
 * The members to ask for a path, in order: those whose patterns and blocklist allow it (403 when
 * none does); with `owners` (the local members that have the name the path belongs to), those
 * locals only, unless the virtual merges locals with remotes.
 */
export function membersFor(virtual: VirtualConfig, members: VirtualMember[], path: string, owners: readonly string[] = []): VirtualMember[] | Response {
  const { order, denied } = memberOrder(providers[virtual.package]!, members, path, { owners, mergeLocalsWithRemotes: virtual.merge_locals_with_remotes });
  if (order.length === 0 && denied.length > 0) {
    return jsonError(403, "DENIED", `${virtual.name}: every member denies this path (${denied.map((entry) => `${entry.member}: ${entry.reason}`).join("; ")})`);
  }
  return order.map((member) => members.find((candidate) => candidate.member.name === member.name)!);
}

/** The member's own absolute URL on the proxy, as a client of the virtual's request would reach it: what its documents link under. */
export function memberBase(request: Request, member: VirtualMember, ctx: ProxyContext): string {
  return proxyBase(request, member.config, memberPrefix(member), ctx.env).url;
}

/** Where the member is served: registries under /v2/, other locals and remotes under their API prefix. */
function memberPrefix(member: VirtualMember): string {
  return member.config.package === "docker" ? "/v2" : member.member.kind === "local" ? LOCAL_PREFIX : REMOTE_PREFIX;
}

/**
 * A request to the member for a path below it (percent-encoded `raw`, with the client's query):
 * `headers` are the request's (Accept for a document's variant; Range and conditionals for a file).
 * The member's own events name the virtual it was asked for.
 */
export async function askMember(viaCtx: ProxyContext, virtual: string, request: Request, member: VirtualMember, path: RemotePath, method: "GET" | "HEAD", headers: Headers): Promise<Response> {
  const ctx = { ...viaCtx, observer: forVirtual(viaCtx.observer, virtual) };
  const prefix = memberPrefix(member);
  const url = new URL(request.url);
  url.pathname = `${prefix}/${member.member.name}/${path.raw}`;
  url.search = path.search;
  const memberHeaders = new Headers(headers);
  memberHeaders.set(VIA_VIRTUAL_HEADER, virtual);
  const memberRequest = new Request(url, { method, headers: memberHeaders });
  const base = proxyBase(request, member.config, prefix, ctx.env);
  const repository = member.config;
  if (repository.package === "docker") {
    return isLocal(repository)
      ? dockerLocal.handle({ ...ctx, local: repository, request: memberRequest, path: path.raw, baseUrl: base.url })
      : serveDockerRemote(ctx, repository, memberRequest, path.raw, path.search);
  }
  if (isLocal(repository)) {
    const type = localTypes[repository.package];
    if (!type) return jsonError(501, "NOT_IMPLEMENTED", `${repository.name}: locals of package '${repository.package}' are not served by this version yet`);
    return type.handle({ ...ctx, local: repository, request: memberRequest, path: path.decoded, baseUrl: base.url });
  }
  const plan = await planRemotePath(repository, path, memberRequest, { state: ctx.stores.state, env: ctx.env, proxyBase: base });
  return plan instanceof Response ? plan : fetchThrough(ctx, plan);
}
