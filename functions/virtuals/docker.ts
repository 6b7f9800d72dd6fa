import { mergeDockerTags, tagsPage } from "../../providers/merge/index.ts";
import { parseRegistryPath } from "../../providers/docker.ts";
import type { ConfigSnapshot } from "../config/cache.ts";
import type { VirtualConfig } from "../config/virtual.ts";
import type { ProxyContext } from "../context.ts";
import { API_VERSION, registryResponse } from "../docker/remote.ts";
import { repositoryForHost } from "../hostnames.ts";
import { dockerLocal } from "../locals/docker.ts";
import { proxyBase, requestHost } from "../proxy/proxy-base.ts";
import { localChanged } from "./member-changes.ts";
import { askMember, membersFor, virtualMembers, type VirtualMember } from "./members.ts";
import { fileFromMembers, serveMerged } from "./serve.ts";

/**
 * A docker virtual under `/v2/{virtual}/…`: `tags/list` merged from every member (each asked for
 * its whole list; the union is cached under the virtual, and a client's `n`/`last` page is cut
 * from it), manifests from the member whose list named the tag first, else — and blobs always —
 * from the first member that has them. A repository that a local member has is theirs alone: its
 * tags, manifests and blobs come from the locals only, remote members' tags of it are hidden
 * (dependency confusion), and its names are never asked of a public registry.
 */
export async function serveDockerVirtual(ctx: ProxyContext, virtual: VirtualConfig, config: ConfigSnapshot, request: Request, path: string, name: string): Promise<Response> {
  const all = virtualMembers(virtual, config);
  const parsed = parseRegistryPath(path)!;
  // A repository a local has is not asked of the remotes at all (its tags/list merge leaves them out itself).
  const owners = parsed.kind === "tags" ? [] : await repositoryOwners(ctx, virtual, request, all, parsed.repository);
  const members = membersFor(virtual, all, path, owners);
  if (members instanceof Response) return members;
  const remotePath = { raw: path, decoded: path, search: "" };
  if (parsed.kind !== "tags") return fileFromMembers(ctx, virtual, request, members, remotePath);
  const page = pageQuery(request);
  if (page instanceof Response) return page;
  const merge = {
    kind: "whole" as const,
    owned: true,
    contentType: "application/json",
    responseHeaders: API_VERSION,
    merge: (documents: Parameters<typeof mergeDockerTags>[0], mergeContext: Parameters<typeof mergeDockerTags>[1]) => mergeDockerTags(documents, { ...mergeContext, name }),
  };
  const union = await serveMerged(ctx, virtual, all, members, request, remotePath, merge, proxyBase(request, virtual, "/v2", ctx.env));
  return page ? pageOf(union, page, `${registryBase(ctx, virtual, request)}/${parsed.repository}/tags/list`) : union;
}

/**
 * The local members that have the repository (a tag list with tags), or may have it (their answer
 * is an error, or refuses the client): while any does, remote members are not asked for its tags.
 */
async function repositoryOwners(ctx: ProxyContext, virtual: VirtualConfig, request: Request, all: VirtualMember[], repository: string): Promise<string[]> {
  const locals = all.filter((member) => member.member.kind === "local");
  if (virtual.merge_locals_with_remotes || locals.length === 0 || locals.length === all.length) return [];
  const headers = new Headers();
  const authorization = request.headers.get("authorization");
  if (authorization) headers.set("authorization", authorization);
  const tags = { raw: `${repository}/tags/list`, decoded: `${repository}/tags/list`, search: "" };
  const owning = await Promise.all(
    locals.map(async (local) => {
      const response = await askMember(ctx, virtual.name, request, local, tags, "GET", headers);
      if (response.status !== 200) {
        await response.body?.cancel();
        return response.status !== 404;
      }
      const list = (await response.json().catch(() => null)) as { tags?: unknown } | null;
      return Array.isArray(list?.tags) && list.tags.length > 0;
    }),
  );
  return locals.filter((_, i) => owning[i]).map((local) => local.member.name);
}

interface PageQuery {
  n?: number;
  last?: string;
}

/** The client's `n` and `last` (null: the whole list), or the registry's 400 for an `n` that is not a count. */
function pageQuery(request: Request): PageQuery | null | Response {
  const query = new URL(request.url).searchParams;
  const n = query.get("n");
  const last = query.get("last");
  if (n === null && last === null) return null;
  if (n !== null && !/^\d+$/.test(n)) return registryResponse(400, "UNSUPPORTED", "n must be a non-negative integer");
  return { ...(n !== null ? { n: Number(n) } : {}), ...(last !== null ? { last } : {}) };
}

/** A page of the merged union, with the `Link: <…?n=&last=…>; rel="next"` header distribution sends when more follow. */
async function pageOf(union: Response, page: PageQuery, listUrl: string): Promise<Response> {
  if (union.status !== 200 || !union.body) return union;
  const { name, tags } = (await union.json()) as { name: string; tags: string[] };
  const { tags: pageTags, next } = tagsPage(tags, page);
  const headers = new Headers(union.headers);
  // The union's length and validator are not the page's.
  for (const header of ["content-length", "etag", "last-modified", "accept-ranges"]) headers.delete(header);
  if (next !== null) headers.set("link", `<${listUrl}?${new URLSearchParams({ ...(page.n !== undefined ? { n: String(page.n) } : {}), last: next })}>; rel="next"`);
  return Response.json({ name, tags: pageTags }, { status: 200, headers });
}

/** Where the virtual's repositories are for this client: `/v2/{virtual}`, or `/v2` on a host mapped to it. */
function registryBase(ctx: ProxyContext, virtual: VirtualConfig, request: Request): string {
  const base = proxyBase(request, virtual, "/v2", ctx.env).url;
  return repositoryForHost([virtual], requestHost(request, ctx.env)) ? `${base}/v2` : base;
}

/** Pushes to a docker virtual go to its default_local (a docker local), as pushes to that local; a pushed tag shows through every virtual over it at once. */
export async function writeToDockerVirtual(ctx: ProxyContext, virtual: VirtualConfig, config: ConfigSnapshot, request: Request, path: string): Promise<Response> {
  const local = virtual.default_local ? config.locals.get(virtual.default_local) : undefined;
  if (!local) return registryResponse(405, "UNSUPPORTED", `${virtual.name}: cannot push to this virtual: it has no default_local; set default_local to one of its docker locals`);
  const url = new URL(request.url);
  url.pathname = `/v2/${local.name}/${path}`;
  const response = await dockerLocal.handle({ ...ctx, local, request: new Request(url, request), path, baseUrl: proxyBase(request, local, "/v2", ctx.env).url });
  await localChanged(ctx, config, local, request, path, response);
  return response;
}
