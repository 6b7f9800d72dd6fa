import { Hono } from "hono";
import { managementAccess, mayReadRemote } from "../auth.ts";
import type { AppEnv } from "../context.ts";
import { currentConfig } from "../config/cache.ts";
import type { RepositoryConfig } from "../config/schema.ts";
import type { Stores } from "../stores.ts";
import { NAME, VERSION } from "../version.ts";

export const healthRoutes = new Hono<AppEnv>();

/** Names the proxy and the remotes and locals this client may read: a private one only to one of its tokens. */
healthRoutes.get("/", async (c) => {
  const { remotes, locals } = await currentConfig(c.var.stores);
  const visible = (repositories: Iterable<RepositoryConfig>) =>
    [...repositories].filter((r) => mayReadRemote(r, c.env, c.req.raw)).map((r) => ({ name: r.name, package: r.package, description: r.description }));
  return c.json({ name: NAME, version: VERSION, remotes: visible(remotes.values()), locals: visible(locals.values()) });
});

/** Liveness: the Worker is up and can answer. Backends are reported by /api/v2/health. */
healthRoutes.get("/health", (c) => c.json({ status: "ok" }));

healthRoutes.get("/api/v2/health", async (c) => {
  const { status, backends: checks } = await backendHealth(c.var.stores);
  // Latency and error text (hosts, driver messages) are for operators: anyone else sees up/down.
  const detailed = managementAccess(c.env, c.req.raw) !== null;
  const backends = detailed ? checks : checks.map(({ name, status }) => ({ name, status }));
  return c.json({ status, backends }, status === "ok" ? 200 : 503);
});

export interface BackendCheck {
  name: string;
  status: "up" | "down";
  latency_ms: number;
  error?: string;
}

/** Each backend's status and latency (the API's /api/v2/health and the web UI's overview). */
export async function backendHealth(stores: Stores): Promise<{ status: "ok" | "degraded"; backends: BackendCheck[] }> {
  const { blobs, state, meta } = stores;
  const checks = await Promise.all([
    timed(`blob:${blobs.kind}`, () => blobs.ping()),
    timed(`state:${state.kind}`, () => state.ping()),
    timed("metadata:postgres", () => meta.ping()),
  ]);
  return { status: checks.every((check) => check.status === "up") ? "ok" : "degraded", backends: checks };
}

async function timed(name: string, check: () => Promise<void>): Promise<BackendCheck> {
  const started = performance.now();
  try {
    await withTimeout(check(), 5_000);
    return { name, status: "up", latency_ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { name, status: "down", latency_ms: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms))]);
}
