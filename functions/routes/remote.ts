import { Hono, type Context } from "hono";
import { remoteReadDenied } from "../auth.ts";
import { serveCircleArtifact } from "../circleci/route.ts";
import { currentRemotes } from "../config/cache.ts";
import { proxyContext, type AppEnv } from "../context.ts";
import { jsonError } from "../errors.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import { parseRemotePath, planRemotePath } from "../proxy/plan.ts";
import { proxyBase } from "../proxy/proxy-base.ts";
import { urlParts } from "../request-url.ts";
import { memberOfVirtual } from "../virtuals/member-observer.ts";

export const remoteRoutes = new Hono<AppEnv>();

/** `/api/v1/remote/{name}/{path}`, and the earlier Python version's short form `/api/{name}/{path}`. */
for (const prefix of ["/api/v1/remote", "/api"]) {
  remoteRoutes.on(["GET", "HEAD"], `${prefix}/:name/*`, (c) => handle(c, prefix));
}

async function handle(c: Context<AppEnv>, prefix: string): Promise<Response> {
  const name = c.req.param("name")!;
  if (prefix === "/api" && (name === "v1" || name === "v2")) return jsonError(404, "NOT_FOUND", "no such endpoint");
  const remote = (await currentRemotes(c.get("stores"))).get(name);
  if (!remote) return jsonError(404, "REMOTE_NOT_FOUND", `no remote named '${name}'`);
  const denied = remoteReadDenied(remote, c.env, c.req.raw);
  if (denied) return denied;

  const url = urlParts(c.req.url);
  const path = parseRemotePath(url.path.slice(`${prefix}/${name}/`.length), url.search);
  if (path instanceof Response) return path;
  if (remote.package === "circleci") return serveCircleArtifact(c, remote, path.decoded);
  // Registries speak their own protocol (token handshake, registry errors): only under /v2/.
  if (remote.package === "docker") return jsonError(404, "NOT_FOUND", `${remote.name} is a docker registry: pull through /v2/${remote.name}/…`);
  const plan = await planRemotePath(remote, path, c.req.raw, { state: c.get("stores").state, env: c.env, proxyBase: proxyBase(c.req.raw, remote, prefix, c.env) });
  if (plan instanceof Response) return plan;
  return fetchThrough(memberOfVirtual(proxyContext(c), c.req.raw), { ...plan, hotRoute: c.get("arrived") });
}
