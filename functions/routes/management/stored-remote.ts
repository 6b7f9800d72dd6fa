import type { Context } from "hono";
import type { AppEnv } from "../../context.ts";
import { isLocal, parseRepository, type RemoteConfig } from "../../config/schema.ts";
import { jsonError } from "../../errors.ts";
import { parseRemotePath, planRemotePath, type FetchPlan } from "../../proxy/plan.ts";
import { proxyBase } from "../../proxy/proxy-base.ts";

/**
 * A remote as stored right now (not the isolate's cached copy): a probe just after a PUT
 * tests the new config.
 */
export async function storedRemote(c: Context<AppEnv>, name: string): Promise<RemoteConfig | Response> {
  const row = await c.var.stores.meta.getConfig("remotes", name);
  if (!row) return jsonError(404, "REMOTE_NOT_FOUND", `no remote named '${name}'`);
  const repository = parseRepository(row.name, row.config);
  if (isLocal(repository)) return jsonError(400, "NOT_A_REMOTE", `'${name}' is a local repository: it has no upstream to fetch from`);
  return repository;
}

/**
 * The plan a client's plain GET of `path` (as text, not percent-encoded) would get: the same
 * front as the request path (path checks, rules, provider), for probe and prefetch.
 */
export async function planForPath(c: Context<AppEnv>, remote: RemoteConfig, path: string): Promise<FetchPlan | Response> {
  const raw = path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
  const parsed = parseRemotePath(raw);
  if (parsed instanceof Response) return parsed;
  const request = new Request(new URL(`/api/v1/remote/${remote.name}/${raw}`, c.req.url));
  return planRemotePath(remote, parsed, request, { state: c.var.stores.state, env: c.env, proxyBase: proxyBase(request, remote, "/api/v1/remote", c.env) });
}

/** Reads a body to its end without keeping it; returns its length. */
export async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (!body) return 0;
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    size += value.byteLength;
  }
}
