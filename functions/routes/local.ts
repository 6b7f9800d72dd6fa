import { Hono, type Context } from "hono";
import { currentConfig, type ConfigSnapshot } from "../config/cache.ts";
import type { LocalConfig } from "../config/schema.ts";
import { proxyContext, type AppEnv } from "../context.ts";
import { jsonError } from "../errors.ts";
import { localTypes } from "../locals/index.ts";
import type { LocalRequest } from "../locals/local-type.ts";
import { isCleanPath } from "../locals/path-rules.ts";
import { proxyBase } from "../proxy/proxy-base.ts";
import { localChanged } from "../virtuals/member-changes.ts";

export const localRoutes = new Hono<AppEnv>();

const METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"];
const PREFIX = "/api/v1/local";
const SHORT_PREFIX = "/api";

/** `/api/v1/local/{name}/{path}`: every method, to the local's package type. */
localRoutes.on(METHODS, [`${PREFIX}/:name`, `${PREFIX}/:name/*`], async (c) => {
  const name = c.req.param("name");
  const config = await currentConfig(c.var.stores);
  const local = config.locals.get(name);
  if (!local) return jsonError(404, "LOCAL_NOT_FOUND", `no local repository named '${name}'`);
  return handle(c, config, local, PREFIX);
});

/**
 * The earlier version's short form `/api/{name}/{path}` serves locals too (remotes have their
 * GET/HEAD there in routes/remote.ts); writes to a remote are refused with a message.
 */
localRoutes.on(METHODS, `${SHORT_PREFIX}/:name/*`, async (c, next) => {
  const name = c.req.param("name");
  const config = await currentConfig(c.var.stores);
  const { locals, remotes } = config;
  const local = locals.get(name);
  if (local) return handle(c, config, local, SHORT_PREFIX);
  const method = c.req.method;
  if (remotes.has(name) && method !== "GET" && method !== "HEAD") {
    return jsonError(405, "METHOD_NOT_ALLOWED", `${name} is a remote (a read-only cache); upload to a local repository`, { allow: "GET, HEAD" });
  }
  await next();
});

async function handle(c: Context<AppEnv>, config: ConfigSnapshot, local: LocalConfig, prefix: string): Promise<Response> {
  const url = new URL(c.req.url);
  const rawPath = url.pathname.slice(`${prefix}/${local.name}/`.length);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return jsonError(400, "BAD_PATH", "the path is not valid percent-encoding");
  }
  if (!isCleanPath(path)) return jsonError(400, "BAD_PATH", "the path must not contain '.', '..' or empty segments");
  if (local.package === "docker") return jsonError(404, "NOT_FOUND", `${local.name} is a docker registry: it is served at /v2/${local.name}/…`);
  const type = localTypes[local.package];
  if (!type) return jsonError(501, "NOT_IMPLEMENTED", `${local.name}: locals of package '${local.package}' are not served by this version yet`);
  const ctx = { ...proxyContext(c), local, request: c.req.raw, path, baseUrl: proxyBase(c.req.raw, local, prefix, c.env).url };
  const response = await type.handle(ctx);
  countRead(ctx, path, response);
  // The virtuals over this local merge its documents: a write shows through them on their next request.
  await localChanged(ctx, config, local, c.req.raw, path, response);
  return response;
}

/** Reads of files count in stats (folder listings do not, as they are not artifacts). */
export function countRead(ctx: LocalRequest, path: string, response: Response): void {
  const method = ctx.request.method;
  if ((method !== "GET" && method !== "HEAD") || path === "" || path.endsWith("/")) return;
  const bytes = method === "HEAD" ? 0 : Number(response.headers.get("content-length") ?? 0);
  const source = response.status >= 400 ? "error" : "local";
  ctx.observer.served({ remote: ctx.local.name, path, cacheKey: path, source, status: response.status, bytes });
}
