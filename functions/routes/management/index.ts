import { Hono } from "hono";
import type { AppEnv } from "../../app.ts";
import { managementDenied } from "../../auth.ts";
import { configRoutes } from "./configs.ts";
import { eventsRoutes } from "./events.ts";
import { objectsRoutes } from "./objects.ts";
import { openapiRoutes } from "./openapi.ts";
import { prefetchRoutes } from "./prefetch.ts";
import { probeRoutes } from "./probe.ts";
import { statsRoutes } from "./stats.ts";

/** `/api/v2`: every endpoint needs a token, except /api/v2/health (routes/health.ts, matched first). */
export const managementRoutes = new Hono<AppEnv>();

managementRoutes.use(async (c, next) => (managementDenied(c.env, c.req.raw) ?? (await next())));

managementRoutes.route("/remotes", objectsRoutes);
managementRoutes.route("/remotes", configRoutes("remotes"));
managementRoutes.route("/virtuals", configRoutes("virtuals"));
managementRoutes.route("/stats", statsRoutes);
managementRoutes.route("/probe", probeRoutes);
managementRoutes.route("/prefetch", prefetchRoutes);
managementRoutes.route("/events", eventsRoutes);
managementRoutes.route("/openapi.json", openapiRoutes);
