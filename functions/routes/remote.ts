import { Hono, type Context } from "hono";
import { proxyContext, type AppEnv } from "../context.ts";
import { remoteReadDenied } from "../auth.ts";
import { serveCircleArtifact } from "../circleci/route.ts";
import { currentRemotes } from "../config/cache.ts";
import { jsonError } from "../errors.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import { planRemotePath } from "../proxy/plan.ts";
import { proxyBase } from "../proxy/proxy-base.ts";

export const remoteRoutes = new Hono<AppEnv>();

/** `/api/v1/remote/{name}/{path}`, and the earlier Python version's short form `/api/{name}/{path}`. */
for (const prefix of ["/api/v1/remote", "/api"]) {
  remoteRoutes.on(["GET", "HEAD"], `${prefix}/:name/*`, (c) => handle(c, prefix));
}

async function handle(c: Context<AppEnv>, prefix: string): Promise<Response> {
  const name = c.req.param("name")!;
  if (prefix === "/api" && (name === "v1" || name === "v2")) return jsonError(404, "NOT_FOUND", "no such endpoint");
  const remote = (await currentRemotes(c.var.stores)).get(name);
  if (!remote) return jsonError(404, "REMOTE_NOT_FOUND", `no remote named '${name}'`);
  const denied = remoteReadDenied(remote, c.env, c.req.raw);
  if (denied) return denied;

  const url = new URL(c.req.url);
  const rawPath = url.pathname.slice(`${prefix}/${name}/`.length);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return jsonError(400, "BAD_PATH", "the path is not valid percent-encoding");
  }
  if (rawPath === "") return jsonError(404, "NOT_FOUND", "a file path is needed after the remote name");
  if (path.split("/").some((segment) => segment === ".." || segment === ".")) {
    return jsonError(400, "BAD_PATH", "the path must not contain '.' or '..' segments");
  }
  if (remote.package === "circleci") return serveCircleArtifact(c, remote, path);
  // Registries speak their own protocol (token handshake, registry errors): only under /v2/.
  if (remote.package === "docker") return jsonError(404, "NOT_FOUND", `${remote.name} is a docker registry: pull through /v2/${remote.name}/…`);
  const plan = planRemotePath(remote, rawPath, path, url.search, c.req.raw, {
    state: c.var.stores.state,
    proxyBase: proxyBase(c.req.raw, remote, prefix),
  });
  if (plan instanceof Response) return plan;
  return fetchThrough(proxyContext(c), plan);
}
