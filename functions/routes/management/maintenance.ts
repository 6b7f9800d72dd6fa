import { Hono } from "hono";
import { z } from "zod";
import { currentRemotes } from "../../config/cache.ts";
import type { AppEnv } from "../../context.ts";
import { runMaintenance } from "../../maintenance/index.ts";
import { parseBody } from "./body.ts";

export const maintenanceRoutes = new Hono<AppEnv>();

export const maintenanceBody = z.strictObject({
  /** Treat uploads older than this many seconds as abandoned (default: the longest fill deadline plus 10 minutes). */
  uploads_older_than: z.number().min(0).optional(),
});

/** Runs the maintenance the Cron Trigger runs, now, and reports what it removed. */
maintenanceRoutes.post("/", async (c) => {
  const body = await parseBody(c, maintenanceBody);
  if (body instanceof Response) return body;
  const report = await runMaintenance(c.var.stores, (await currentRemotes(c.var.stores)).values(), {
    uploadsOlderThanMs: body.uploads_older_than === undefined ? undefined : body.uploads_older_than * 1000,
  });
  const result = {
    uploads_deleted: report.uploadsDeleted,
    multipart_aborted: report.multipartAborted,
    upload_sessions: report.uploadSessions,
    expired_state_keys: report.expiredStateKeys,
    unreferenced_blobs: report.unreferencedBlobs,
    purged: report.purged,
    retention: report.retention.map((row) => ({ remote: row.remote, evicted: row.evicted, bytes_freed: row.bytesFreed })),
  };
  return c.json(result);
});
