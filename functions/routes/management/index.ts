import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../../context.ts";
import { managementDenied } from "../../auth.ts";
import { jsonError } from "../../errors.ts";
import { configRoutes } from "./configs.ts";
import { eventsRoutes } from "./events.ts";
import { maintenanceRoutes } from "./maintenance.ts";
import { objectsRoutes } from "./objects.ts";
import { openapiRoutes } from "./openapi.ts";
import { prefetchRoutes } from "./prefetch.ts";
import { probeRoutes } from "./probe.ts";
import { statsRoutes } from "./stats.ts";

const MAX_BODY_BYTES = 256 * 1024;

/** `/api/v2`: every endpoint needs a token, except /api/v2/health (routes/health.ts, matched first). */
export const managementRoutes = new Hono<AppEnv>();

managementRoutes.use(async (c, next) => (managementDenied(c.env, c.req.raw) ?? (await next())));
managementRoutes.use(async (c, next) => (unsupportedBodyType(c.req.raw) ?? (await next())));
// Config documents are small; a larger body is refused before it is read into memory.
managementRoutes.use(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => jsonError(413, "BODY_TOO_LARGE", `request bodies are limited to ${MAX_BODY_BYTES / 1024} KiB`),
  }),
);

/**
 * Writes carry JSON and must say so. A browser sends `text/plain`, form and multipart bodies
 * cross-site without a CORS preflight, with Basic credentials it has cached; requiring
 * `application/json` makes such a forged write fail (a cross-site JSON request needs a preflight,
 * which this API never grants). Reads and deletes carry no body and need no type.
 */
function unsupportedBodyType(request: Request): Response | null {
  if (request.method !== "POST" && request.method !== "PUT" && request.method !== "PATCH") return null;
  const mediaType = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/json") return null;
  return jsonError(415, "UNSUPPORTED_MEDIA_TYPE", `${request.method} needs a JSON body sent with Content-Type: application/json (got ${mediaType || "none"})`);
}

managementRoutes.route("/remotes", objectsRoutes);
managementRoutes.route("/remotes", configRoutes("remotes"));
managementRoutes.route("/virtuals", configRoutes("virtuals"));
managementRoutes.route("/stats", statsRoutes);
managementRoutes.route("/probe", probeRoutes);
managementRoutes.route("/prefetch", prefetchRoutes);
managementRoutes.route("/events", eventsRoutes);
managementRoutes.route("/maintenance", maintenanceRoutes);
managementRoutes.route("/openapi.json", openapiRoutes);
