import { Hono, type Context } from "hono";
import { remoteReadDenied } from "../auth.ts";
import { currentConfig } from "../config/cache.ts";
import { proxyContext, type AppEnv } from "../context.ts";
import { jsonError } from "../errors.ts";
import { parseRemotePath } from "../proxy/plan.ts";
import { serveVirtual, writeThroughVirtual } from "../virtuals/serve.ts";

export const virtualRoutes = new Hono<AppEnv>();

const PREFIX = "/api/v1/virtual";
const METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];

/** `/api/v1/virtual/{name}/{path}` (and a hostname mapped to the virtual, at its root): reads merged or first-match, writes to default_local. */
virtualRoutes.on(METHODS, [`${PREFIX}/:name`, `${PREFIX}/:name/*`], async (c: Context<AppEnv>) => {
  const name = c.req.param("name")!;
  const config = await currentConfig(c.var.stores);
  const virtual = config.virtuals.get(name);
  if (!virtual) return jsonError(404, "VIRTUAL_NOT_FOUND", `no virtual repository named '${name}'`);
  if (virtual.package === "docker") return jsonError(404, "NOT_FOUND", `${name} is a docker virtual: pull through /v2/${name}/…`);
  const url = new URL(c.req.url);
  const raw = url.pathname.slice(`${PREFIX}/${name}/`.length);
  const read = c.req.method === "GET" || c.req.method === "HEAD";
  // Some writes go to the repository's root (twine's legacy upload API posts there).
  const path = !read && raw === "" ? { raw, decoded: "", search: url.search } : parseRemotePath(raw, url.search);
  if (path instanceof Response) return path;
  if (!read) return writeThroughVirtual(proxyContext(c), virtual, config, c.req.raw, path);
  const denied = remoteReadDenied(virtual, c.env, c.req.raw);
  if (denied) return denied;
  return serveVirtual(proxyContext(c), virtual, config, c.req.raw, path, PREFIX);
});
