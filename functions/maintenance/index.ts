import type { RemoteConfig } from "../config/schema.ts";
import type { Stores } from "../stores.ts";
import { purgeRemote, sweepUnreferencedBlobs } from "./orphans.ts";
import { applyRetention, type RetentionResult } from "./retention.ts";
import { sweepUploads, type UploadSweep } from "./uploads.ts";

/** Margin beyond the longest fill deadline before an upload counts as abandoned. */
const ABANDONED_AFTER_MS = 10 * 60_000;
/** Expired state rows removed per run (the Postgres state store; Redis expires keys itself). */
const EXPIRED_PER_RUN = 10_000;

export interface MaintenanceReport extends UploadSweep {
  expiredStateKeys: number;
  /** Docker locals' upload sessions nobody wrote to before the uploads cutoff. */
  uploadSessions: number;
  unreferencedBlobs: number;
  /** Objects of remotes that no longer exist, purged. */
  purged: number;
  retention: RetentionResult[];
}

export interface MaintenanceOptions {
  /** Uploads older than this (ms) are abandoned; by default the longest fill deadline plus a margin. */
  uploadsOlderThanMs?: number;
  now?: number;
}

/**
 * The periodic work that keeps storage bounded: run by the Cron Trigger (`scheduled` in
 * functions/index.ts), by `POST /api/v2/maintenance`, and on a timer under `npm start`.
 */
export async function runMaintenance(stores: Stores, remotes: Iterable<RemoteConfig>, options: MaintenanceOptions = {}): Promise<MaintenanceReport> {
  const now = options.now ?? Date.now();
  const configured = [...remotes];
  const longestFill = Math.max(1800, ...configured.map((remote) => remote.fill_timeout)) * 1000;
  const abandonedBefore = new Date(now - (options.uploadsOlderThanMs ?? longestFill + ABANDONED_AFTER_MS));
  const uploads = await sweepUploads(stores.blobs, stores.meta, abandonedBefore);
  // Their chunks are older than their last write, so the sweep above has taken them.
  const uploadSessions = await stores.locals.sweepUploadSessions(abandonedBefore);
  const expiredStateKeys = await stores.state.sweepExpired(EXPIRED_PER_RUN);
  const purged = await purgeRemoved(stores);
  const retention = [];
  for (const remote of configured) {
    if (remote.max_size > 0 || remote.unused_ttl > 0) retention.push(await applyRetention(stores, remote, now));
  }
  const unreferencedBlobs = await sweepUnreferencedBlobs(stores, now);
  const report = { ...uploads, expiredStateKeys, uploadSessions, unreferencedBlobs, purged, retention };
  // Retention evictions show in the event stream and in stats, whoever ran the maintenance.
  await stores.meta.appendEvents([
    ...retention.filter((row) => row.evicted > 0).map((row) => ({ type: "eviction", remote: row.remote, data: { reason: "retention", evicted: row.evicted, bytes_freed: row.bytesFreed } })),
    { type: "maintenance", data: { ...uploads, expiredStateKeys, uploadSessions, unreferencedBlobs, purged } },
  ]);
  return report;
}

/** Cached objects of names no remote has any more (deleted, or dropped from the remotes file). */
async function purgeRemoved(stores: Stores): Promise<number> {
  const names = new Set((await stores.meta.listRemotes()).map((row) => row.name));
  let purged = 0;
  for (const { remote } of await stores.meta.storageByRemote()) {
    if (!names.has(remote)) purged += await purgeRemote(stores, remote);
  }
  return purged;
}
