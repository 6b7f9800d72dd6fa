import { Hono, type Context } from "hono";
import { z } from "zod";
import { decide } from "../../../providers/access.ts";
import { providers } from "../../../providers/index.ts";
import type { AppEnv } from "../../context.ts";
import type { RemoteConfig } from "../../config/schema.ts";
import { jsonError } from "../../errors.ts";
import { indexKey, isFresh, readEntry } from "../../proxy/index-entry.ts";
import { UpstreamError } from "../../proxy/upstream.ts";
import { parseBody } from "./body.ts";
import { drain, planForPath, storedRemote } from "./stored-remote.ts";

export const probeRoutes = new Hono<AppEnv>();

export const probeBody = z.strictObject({ remote: z.string().min(1), path: z.string().min(1) });

/**
 * Fetches a path through a remote's rules and upstream the way a miss would, but reads the
 * body only to measure it: nothing is stored or streamed. Denied paths are explained, not fetched.
 */
probeRoutes.post("/", async (c) => {
  const body = await parseBody(c, probeBody);
  if (body instanceof Response) return body;
  const remote = await storedRemote(c, body.remote);
  if (remote instanceof Response) return remote;
  const report = await probe(c, remote, body.path);
  return report instanceof Response ? report : c.json(report);
});

export interface ProbeReport {
  remote: string;
  path: string;
  classification: string;
  reason: string;
  ok: boolean;
  fetched: boolean;
  upstream_url?: string;
  status?: number;
  latency_ms?: number;
  duration_ms?: number;
  size?: number;
  content_type?: string | null;
  cached?: "no" | "fresh" | "stale";
  error?: { code: string; message: string };
}

/** What a remote's rules and provider decide for a path, and why, without fetching (the probe's first step, and the web UI's path tester). */
export function classifyPath(remote: RemoteConfig, requestedPath: string): { remote: string; path: string; classification: string; reason: string } {
  const path = requestedPath.replace(/^\/+/, "");
  const decision = decide(remote, providers[remote.package]!, path);
  return { remote: remote.name, path, classification: decision.kind, reason: decision.reason };
}

/** The probe of one path (the API's /probe and the web UI's repository page); an error answer for a bad path. */
export async function probe(c: Context<AppEnv>, remote: RemoteConfig, requestedPath: string): Promise<ProbeReport | Response> {
  const report = classifyPath(remote, requestedPath);
  const { path } = report;
  if (report.classification === "denied") return { ...report, ok: false, fetched: false };

  const plan = await planForPath(c, remote, path);
  if (plan instanceof Response) return plan;
  const entry = await readEntry(c.var.stores.state, indexKey(remote.name, plan.cacheKey));
  const cached = entry === null ? "no" : isFresh(entry) ? "fresh" : "stale";
  const started = performance.now();
  const upstream_url = plan.upstream.url.toString();
  try {
    const upstream = await plan.upstream.fetch({ method: "GET" });
    const latencyMs = Math.round(performance.now() - started);
    const size = await drain(upstream.body);
    return {
      ...report,
      ok: upstream.status === 200,
      fetched: true,
      upstream_url,
      status: upstream.status,
      latency_ms: latencyMs,
      duration_ms: Math.round(performance.now() - started),
      size,
      content_type: upstream.headers.get("content-type"),
      cached,
    };
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    return {
      ...report,
      ok: false,
      fetched: false,
      upstream_url,
      error: { code: error.code, message: error.message },
      duration_ms: Math.round(performance.now() - started),
      cached,
    };
  }
}
