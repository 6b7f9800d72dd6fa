import { mergeDockerTags } from "../../providers/merge/index.ts";
import { parseRegistryPath } from "../../providers/docker.ts";
import type { ConfigSnapshot } from "../config/cache.ts";
import type { VirtualConfig } from "../config/virtual.ts";
import type { ProxyContext } from "../context.ts";
import { API_VERSION, registryResponse } from "../docker/remote.ts";
import { dockerLocal } from "../locals/docker.ts";
import { proxyBase } from "../proxy/proxy-base.ts";
import { localChanged } from "./member-changes.ts";
import { membersFor, virtualMembers } from "./members.ts";
import { fileFromMembers, serveMerged } from "./serve.ts";

/**
 * A docker virtual under `/v2/{virtual}/…`: `tags/list` merged from every member (each asked for
 * its whole list; the union is cached under the virtual), manifests from the member whose list
 * named the tag first, else — and blobs always — from the first member that has them.
 */
export async function serveDockerVirtual(ctx: ProxyContext, virtual: VirtualConfig, config: ConfigSnapshot, request: Request, path: string, name: string): Promise<Response> {
  const all = virtualMembers(virtual, config);
  const members = membersFor(virtual, all, path);
  if (members instanceof Response) return members;
  const parsed = parseRegistryPath(path)!;
  if (parsed.kind !== "tags") return fileFromMembers(ctx, virtual, request, members, { raw: path, decoded: path, search: "" });
  // The whole union is cached; `n`/`last` are not asked of the members.
  const merge = {
    kind: "whole" as const,
    owned: true,
    contentType: "application/json",
    responseHeaders: API_VERSION,
    merge: (documents: Parameters<typeof mergeDockerTags>[0], mergeContext: Parameters<typeof mergeDockerTags>[1]) => mergeDockerTags(documents, { ...mergeContext, name }),
  };
  return serveMerged(ctx, virtual, all, members, request, { raw: path, decoded: path, search: "" }, merge, proxyBase(request, virtual, "/v2", ctx.env));
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
