import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../context.ts";
import type { RemoteConfig } from "../../config/schema.ts";
import { jsonError } from "../../errors.ts";
import { fetchThrough } from "../../proxy/fetch-through.ts";
import { proxyContext } from "../../context.ts";
import { parseBody } from "./body.ts";
import { expandBraces } from "./expand.ts";
import { drain, planForPath, storedRemote } from "./stored-remote.ts";

export const prefetchRoutes = new Hono<AppEnv>();

const MAX_PATHS = 100;
const CONCURRENCY = 4;
/** Each brace group is one level of expansion: a bounded pattern keeps that depth bounded too. */
const MAX_PATTERN_LENGTH = 1024;

export const prefetchBody = z
  .strictObject({
    remote: z.string().min(1),
    paths: z.array(z.string().min(1)).min(1).max(MAX_PATHS).optional(),
    /** Brace expansion: `pkg-{1.0,1.1}.tgz`, `v{1..3}/a.bin`. */
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH).optional(),
  })
  .refine((body) => (body.paths === undefined) !== (body.pattern === undefined), "give exactly one of paths or pattern");

export interface PathResult {
  path: string;
  ok: boolean;
  status: number;
  /** cache: it was already cached; remote: fetched and stored now. */
  source?: string;
  size?: number;
  error?: string;
}

/** Warms the cache: each path goes through fetch-through as a client GET would, the body is drained, not kept. */
prefetchRoutes.post("/", async (c) => {
  const body = await parseBody(c, prefetchBody);
  if (body instanceof Response) return body;
  const remote = await storedRemote(c, body.remote);
  if (remote instanceof Response) return remote;
  const report = await prefetch(c, remote, body.paths ? { paths: body.paths } : { pattern: body.pattern! });
  return report instanceof Response ? report : c.json(report);
});

export interface PrefetchReport {
  remote: string;
  requested: number;
  ok: number;
  failed: number;
  results: PathResult[];
}

/** Warms paths, or a brace pattern's paths (the API's /prefetch and the web UI's repository page); an error answer for a bad pattern. */
export async function prefetch(c: Context<AppEnv>, remote: RemoteConfig, what: { paths: string[] } | { pattern: string }): Promise<PrefetchReport | Response> {
  let paths: string[];
  try {
    paths = "paths" in what ? what.paths : expandBraces(what.pattern, MAX_PATHS);
  } catch (error) {
    return jsonError(400, "BAD_PATTERN", (error as Error).message);
  }

  const warm = async (path: string): Promise<PathResult> => {
    const plan = await planForPath(c, remote, path);
    const response = plan instanceof Response ? plan : await fetchThrough(proxyContext(c), plan);
    if (response.status !== 200) {
      const error = await response.json().then((json) => (json as { error?: { message?: string } }).error?.message, () => undefined);
      return { path, ok: false, status: response.status, error: error ?? `status ${response.status}` };
    }
    const size = await drain(response.body);
    return { path, ok: true, status: 200, source: response.headers.get("x-artifact-source") ?? undefined, size };
  };

  const results: PathResult[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const index = next++;
      results[index] = await warm(paths[index]!).catch((error: Error) => ({ path: paths[index]!, ok: false, status: 500, error: error.message }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, paths.length) }, worker));
  const failed = results.filter((result) => !result.ok).length;
  return { remote: remote.name, requested: paths.length, ok: paths.length - failed, failed, results };
}
