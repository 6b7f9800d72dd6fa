import { Hono, type Context } from "hono";
import type { EvictionTarget } from "../../../infra/meta/types.ts";
import { z } from "zod";
import type { AppEnv } from "../../context.ts";
import type { LocalStore } from "../../../infra/meta/local-store.ts";
import { jsonError } from "../../errors.ts";
import { parseQuery } from "./body.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { logEvent } from "./event-log.ts";
import { evict, type Eviction } from "../../storage/evict.ts";

export const objectsRoutes = new Hono<AppEnv>();

export const listObjectsQuery = z.object({
  prefix: z.string().default(""),
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const evictObjectsQuery = z
  .object({ path: z.string().min(1).optional(), prefix: z.string().optional() })
  .refine((q) => (q.path === undefined) !== (q.prefix === undefined), "give exactly one of path or prefix");

const cursorSchema = z.tuple([z.string(), z.string()]);

objectsRoutes.get("/:name/objects", async (c) => {
  const remote = c.req.param("name");
  const query = parseQuery(c, listObjectsQuery);
  if (query instanceof Response) return query;
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, cursorSchema);
  if (cursor === null) return jsonError(400, "BAD_CURSOR", "the cursor is not one this API returned");
  const after = cursor && { path: cursor[0], cacheKey: cursor[1] };
  const config = await c.var.stores.meta.getConfig("remotes", remote);
  if (!config) return jsonError(404, "REMOTE_NOT_FOUND", `no remote named '${remote}'`);
  if (isLocalConfig(config.config)) return c.json(await localObjects(c.var.stores.locals, remote, query, after?.path));
  const rows = await c.var.stores.meta.listArtifacts(remote, { prefix: query.prefix, after, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return c.json({
    objects: page.map((row) => ({
      path: row.path,
      size: row.size,
      sha256: row.sha256,
      content_type: row.contentType,
      fetched_at: row.fetchedAt.toISOString(),
      last_access: row.lastAccess?.toISOString() ?? null,
      hits: row.hits,
    })),
    next_cursor: rows.length > query.limit && last ? encodeCursor([last.path, last.cacheKey]) : null,
  });
});

objectsRoutes.delete("/:name/objects", async (c) => {
  const remote = c.req.param("name");
  const query = parseQuery(c, evictObjectsQuery);
  if (query instanceof Response) return query;
  const config = await c.var.stores.meta.getConfig("remotes", remote);
  if (config && isLocalConfig(config.config)) {
    return jsonError(400, "NOT_A_CACHE", `${remote} is a local repository: its files are not a cache; DELETE them at /api/v1/local/${remote}/{path}`);
  }
  const target = query.path !== undefined ? { path: query.path } : { prefix: query.prefix! };
  const result = await evictObjects(c, remote, target);
  if ("path" in target && result.evicted === 0) return jsonError(404, "NOT_CACHED", `${remote}: '${target.path}' is not cached`);
  return c.json({ remote, evicted: result.evicted, blobs_deleted: result.blobsDeleted, paths: result.paths.slice(0, 1000) });
});

/** Evicts and records the eviction as an event (the API's DELETE …/objects and the web UI's Evict button). */
export async function evictObjects(c: Context<AppEnv>, remote: string, target: EvictionTarget): Promise<Eviction> {
  const result = await evict(c.var.stores, remote, target);
  if (result.evicted > 0 || "prefix" in target) logEvent(c, "eviction", remote, { ...target, evicted: result.evicted, blobs_deleted: result.blobsDeleted });
  return result;
}

function isLocalConfig(config: unknown): boolean {
  return typeof config === "object" && config !== null && (config as Record<string, unknown>).type === "local";
}

/** A local's files in the browser's shape (fetched_at = when uploaded), plus who uploaded them. */
async function localObjects(locals: LocalStore, local: string, query: { prefix: string; limit: number }, after: string | undefined) {
  const rows = await locals.listLocalFiles(local, { prefix: query.prefix, after, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    objects: page.map((row) => ({
      path: row.path,
      size: row.size,
      sha256: row.sha256,
      content_type: row.contentType,
      fetched_at: row.uploadedAt.toISOString(),
      last_access: row.lastAccess?.toISOString() ?? null,
      hits: row.hits,
      uploaded_by: row.uploadedBy,
    })),
    next_cursor: rows.length > query.limit && last ? encodeCursor([last.path, last.path]) : null,
  };
}
