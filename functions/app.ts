import { Hono } from "hono";
import { Background } from "./background.ts";
import type { Env } from "./env.ts";
import { currentRemotes } from "./config/cache.ts";
import { jsonError } from "./errors.ts";
import { canonicalPath, remoteForHost } from "./hostnames.ts";
import type { Observer } from "./observe.ts";
import { Recorder } from "./observe/recorder.ts";
import { dockerRoutes } from "./routes/docker.ts";
import { healthRoutes } from "./routes/health.ts";
import { managementRoutes } from "./routes/management/index.ts";
import { remoteRoutes } from "./routes/remote.ts";
import { createStores, type Stores } from "./stores.ts";

export interface AppEnv {
  Bindings: Env;
  Variables: { stores: Stores; background: Background; observer: Observer };
}

export const app = new Hono<AppEnv>();

/** Stores are opened per request (Workers cannot share sockets across requests) and closed after background work. */
app.use(async (c, next) => {
  const stores = createStores(c.env);
  const background = new Background();
  c.set("stores", stores);
  c.set("background", background);
  const recorder = new Recorder(stores, background);
  c.set("observer", recorder);
  try {
    await next();
  } finally {
    recorder.responded();
    c.executionCtx.waitUntil(background.settled().finally(() => stores.close()));
  }
});

/** Requests already rewritten from a mapped hostname, so they are not rewritten twice. */
const rewritten = new WeakSet<Request>();

app.use(async (c, next) => {
  if (rewritten.has(c.req.raw)) return next();
  const host = c.req.header("x-forwarded-host") ?? c.req.header("host") ?? new URL(c.req.url).host;
  const remote = remoteForHost((await currentRemotes(c.var.stores)).values(), host);
  const url = new URL(c.req.url);
  const path = remote && canonicalPath(remote, url.pathname);
  if (!path) return next();
  url.pathname = path;
  const request = new Request(url, c.req.raw);
  rewritten.add(request);
  return app.fetch(request, c.env, c.executionCtx);
});

app.route("/", healthRoutes);
app.route("/api/v2", managementRoutes);
app.route("/", remoteRoutes);
app.route("/", dockerRoutes);

app.notFound(() => jsonError(404, "NOT_FOUND", "no such endpoint"));
app.onError((error) => {
  console.error("unhandled error:", error);
  return jsonError(500, "INTERNAL", "internal error");
});
