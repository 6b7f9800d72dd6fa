import type { RemoteConfig } from "../config/schema.ts";
import type { Stores } from "../stores.ts";
import { sweepUploads, type UploadSweep } from "./uploads.ts";

/** Margin beyond the longest fill deadline before an upload counts as abandoned. */
const ABANDONED_AFTER_MS = 10 * 60_000;

export type MaintenanceReport = UploadSweep;

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
  const longestFill = Math.max(1800, ...[...remotes].map((remote) => remote.fill_timeout)) * 1000;
  const uploadsOlderThan = options.uploadsOlderThanMs ?? longestFill + ABANDONED_AFTER_MS;
  return sweepUploads(stores.blobs, stores.meta, new Date(now - uploadsOlderThan));
}
