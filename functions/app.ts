import { Hono } from "hono";
import { Background } from "./background.ts";
import type { Env } from "./env.ts";
import { jsonError } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { remoteRoutes } from "./routes/remote.ts";
import { createStores, type Stores } from "./stores.ts";

export interface AppEnv {
  Bindings: Env;
  Variables: { stores: Stores; background: Background };
}

export const app = new Hono<AppEnv>();

/** Stores are opened per request (Workers cannot share sockets across requests) and closed after background work. */
app.use(async (c, next) => {
  const stores = createStores(c.env);
  const background = new Background();
  c.set("stores", stores);
  c.set("background", background);
  try {
    await next();
  } finally {
    c.executionCtx.waitUntil(background.settled().finally(() => stores.close()));
  }
});

app.route("/", healthRoutes);
app.route("/", remoteRoutes);

app.notFound(() => jsonError(404, "NOT_FOUND", "no such endpoint"));
app.onError((error) => {
  console.error("unhandled error:", error);
  return jsonError(500, "INTERNAL", "internal error");
});
