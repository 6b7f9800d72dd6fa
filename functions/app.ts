import { Hono } from "hono";
import { Background } from "./background.ts";
import { currentConfig } from "./config/cache.ts";
import type { AppEnv, RequestScope } from "./context.ts";
import { isUnavailable } from "../infra/unavailable.ts";
import { jsonError } from "./errors.ts";
import { canonicalPath, repositoryForHost } from "./hostnames.ts";
import { insideCoordinator } from "./proxy/coordination.ts";
import { Recorder } from "./observe/recorder.ts";
import { dockerRoutes } from "./routes/docker.ts";
import { healthRoutes } from "./routes/health.ts";
import { localRoutes } from "./routes/local.ts";
import { requestHost } from "./proxy/proxy-base.ts";
import { managementRoutes } from "./routes/management/index.ts";
import { urlParts } from "./request-url.ts";
import { remoteRoutes } from "./routes/remote.ts";
import { virtualRoutes } from "./routes/virtual.ts";
import { createStores } from "./stores.ts";
import { uiRoutes } from "./ui/index.tsx";

export const app = new Hono<AppEnv>();

/**
 * Requests a mapped hostname re-dispatched on their canonical path, with the scope the first
 * pass opened: the stores are opened once per request and closed once, after background work.
 */
const redispatched = new WeakMap<Request, RequestScope & { arrived: Request }>();

/** Stores are opened per request (Workers cannot share sockets across requests) and closed after background work. */
app.use(async (c, next) => {
  const inherited = redispatched.get(c.req.raw);
  if (inherited) {
    c.set("arrived", inherited.arrived);
    c.set("stores", inherited.stores);
    c.set("background", inherited.background);
    c.set("observer", inherited.observer);
    return next();
  }
  const stores = createStores(c.env);
  const background = new Background();
  const recorder = new Recorder(stores, background);
  c.set("arrived", c.req.raw);
  c.set("stores", stores);
  c.set("background", background);
  c.set("observer", recorder);
  try {
    await next();
  } finally {
    recorder.responded();
    // A hot hit hands over no work and opens no connection: nothing to keep the request alive for.
    if (!background.idle || stores.opened) c.executionCtx.waitUntil(background.settled().finally(() => stores.close()));
  }
});

/** A hostname mapped to a remote, a local or a virtual serves it at the root: the request is answered on its canonical path. */
app.use(async (c, next) => {
  // A fill coordinator gets requests already on their canonical path.
  if (redispatched.has(c.req.raw) || insideCoordinator(c.env)) return next();
  const host = requestHost(c.req.raw, c.env);
  const { remotes, locals, virtuals } = await currentConfig(c.get("stores"));
  const virtual = repositoryForHost(virtuals.values(), host);
  const repository = repositoryForHost(remotes.values(), host) ?? repositoryForHost(locals.values(), host) ?? (virtual && { ...virtual, type: "virtual" as const });
  const path = repository && canonicalPath(repository, urlParts(c.req.url).path, { ui: c.env.UI_ON_MAPPED_HOSTS === "true" });
  if (!path) return next();
  const url = new URL(c.req.url);
  url.pathname = path;
  const request = new Request(url, c.req.raw);
  redispatched.set(request, { arrived: c.req.raw, stores: c.get("stores"), background: c.get("background"), observer: c.get("observer") });
  return app.fetch(request, c.env, c.executionCtx);
});

app.route("/", healthRoutes);
app.route("/api/v2", managementRoutes);
app.get("/ui", (c) => c.redirect("/ui/", 301));
app.route("/ui/", uiRoutes);
app.route("/", localRoutes);
app.route("/", virtualRoutes);
app.route("/", remoteRoutes);
app.route("/", dockerRoutes);

app.notFound(() => jsonError(404, "NOT_FOUND", "no such endpoint"));
app.onError((error) => {
  if (isUnavailable(error)) {
    console.error(error.message);
    return jsonError(503, "BACKEND_UNAVAILABLE", `the ${error.backend} store is unavailable right now; retry later`, { "retry-after": "5" });
  }
  console.error("unhandled error:", error);
  return jsonError(500, "INTERNAL", "internal error");
});
