import { Hono, type Context } from "hono";
import { z } from "zod";
import type { UsageTotals } from "../../../infra/meta/types.ts";
import type { AppEnv } from "../../context.ts";
import { Recorder } from "../../observe/recorder.ts";
import { parseQuery } from "./body.ts";

export const statsRoutes = new Hono<AppEnv>();

const WINDOWS = { "1h": 3600_000, "24h": 24 * 3600_000, "7d": 7 * 24 * 3600_000 } as const;

export const statsQuery = z.object({
  window: z.enum(["1h", "24h", "7d"]).optional(),
  top: z.coerce.number().int().min(0).max(100).default(10),
});

/** Per remote and overall, for one window or all three: counts, ratios, bytes, top artifacts. */
statsRoutes.get("/", async (c) => {
  const query = parseQuery(c, statsQuery);
  if (query instanceof Response) return query;
  const windows = query.window ? [query.window] : (Object.keys(WINDOWS) as StatsWindow[]);
  return c.json(await usageStats(c, windows, query.top));
});

export type StatsWindow = keyof typeof WINDOWS;
export const STATS_WINDOWS = WINDOWS;

export type UsageSummary = ReturnType<typeof summarize>;

/** A virtual's answers per member that gave them. */
export type MemberUsage = Record<string, { requests: number; bytes_served: number }>;

export interface WindowStats {
  overall: UsageSummary;
  /** A virtual's row also says which members its answers came from (`members`). */
  remotes: Record<string, UsageSummary & { retention_evictions: number; members?: MemberUsage }>;
  /** `member`: for a virtual's path, the member it came from. */
  top: { remote: string; path: string; requests: number; bytes_served: number; member?: string }[];
}

/** The stats of each window up to this moment (the API's /stats and the web UI's pages). */
export async function usageStats(
  c: Context<AppEnv>,
  windows: StatsWindow[],
  top: number,
): Promise<{ generated_at: string; windows: Partial<Record<StatsWindow, WindowStats>>; storage: Record<string, { objects: number; bytes: number }> }> {
  // Report up to this moment: this isolate's buffered counts are written first.
  if (c.var.observer instanceof Recorder) await c.var.observer.flushUsage();
  const now = Date.now();
  const result: Partial<Record<StatsWindow, WindowStats>> = {};
  for (const window of windows) {
    const since = new Date(now - WINDOWS[window]);
    const usage = await c.var.stores.meta.usageSince(since, top);
    const evictions = await c.var.stores.meta.retentionEvictionsSince(since);
    const overall = usage.remotes.reduce((sum, row) => add(sum, row), zero());
    const members = new Map<string, MemberUsage>();
    for (const row of usage.members) members.set(row.remote, { ...members.get(row.remote), [row.member]: { requests: row.requests, bytes_served: row.bytesServed } });
    result[window] = {
      overall: summarize(overall),
      remotes: Object.fromEntries(
        usage.remotes.map((row) => {
          const served = members.get(row.remote);
          return [row.remote, { ...summarize(row), retention_evictions: evictions.get(row.remote) ?? 0, ...(served ? { members: served } : {}) }];
        }),
      ),
      top: usage.top.map((row) => ({ remote: row.remote, path: row.path, requests: row.requests, bytes_served: row.bytesServed, ...(row.member ? { member: row.member } : {}) })),
    };
  }
  // What each remote keeps now (what max_size and unused_ttl bound).
  const storage = Object.fromEntries((await c.var.stores.meta.storageByRemote()).map((row) => [row.remote, { objects: row.objects, bytes: row.bytes }]));
  return { generated_at: new Date(now).toISOString(), windows: result, storage };
}

function zero(): UsageTotals {
  return { requests: 0, hits: 0, misses: 0, errors: 0, bytesServed: 0, bytesFetched: 0, uploads: 0, bytesUploaded: 0 };
}

function add(sum: UsageTotals, row: UsageTotals): UsageTotals {
  return {
    requests: sum.requests + row.requests,
    hits: sum.hits + row.hits,
    misses: sum.misses + row.misses,
    errors: sum.errors + row.errors,
    bytesServed: sum.bytesServed + row.bytesServed,
    bytesFetched: sum.bytesFetched + row.bytesFetched,
    uploads: sum.uploads + row.uploads,
    bytesUploaded: sum.bytesUploaded + row.bytesUploaded,
  };
}

export function summarize(totals: UsageTotals) {
  const answered = totals.hits + totals.misses;
  return {
    requests: totals.requests,
    hits: totals.hits,
    misses: totals.misses,
    errors: totals.errors,
    hit_ratio: answered === 0 ? null : Math.round((totals.hits / answered) * 1000) / 1000,
    bytes_served: totals.bytesServed,
    bytes_fetched: totals.bytesFetched,
    bytes_saved: Math.max(0, totals.bytesServed - totals.bytesFetched),
    uploads: totals.uploads,
    bytes_uploaded: totals.bytesUploaded,
  };
}
