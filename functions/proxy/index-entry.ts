import { z } from "zod";
import type { StateStore } from "../../infra/state/types.ts";
import type { Mutability } from "../../providers/types.ts";

/**
 * What the state store keeps per cached path: enough to answer a hit (headers included)
 * with one state-store read and one blob read.
 */
export const indexEntrySchema = z.object({
  blobKey: z.string(),
  sha256: z.string(),
  size: z.number(),
  contentType: z.string(),
  contentEncoding: z.string().optional(),
  /** The upstream's validators, for conditional revalidation of mutable paths. */
  upstreamEtag: z.string().optional(),
  lastModified: z.string().optional(),
  /** Upstream headers replayed on every answer (FetchPlan.replayHeaders). */
  headers: z.record(z.string(), z.string()).optional(),
  fetchedAt: z.number(),
  /** Epoch ms after which the entry must be revalidated; 0 = fresh forever. */
  freshUntil: z.number(),
});

export type IndexEntry = z.output<typeof indexEntrySchema>;

export const indexKey = (remote: string, cacheKey: string) => `idx:${remote}:${cacheKey}`;
export const lockKey = (remote: string, cacheKey: string) => `lock:${remote}:${cacheKey}`;

export function isFresh(entry: IndexEntry, now = Date.now()): boolean {
  return entry.freshUntil === 0 || now < entry.freshUntil;
}

/** immutable_ttl 0 means forever; mutable_ttl 0 means ask the upstream every time. */
export function freshUntil(kind: Mutability, ttlSeconds: number, now = Date.now()): number {
  if (kind === "immutable" && ttlSeconds === 0) return 0;
  return now + ttlSeconds * 1000;
}

export async function readEntry(state: StateStore, key: string): Promise<IndexEntry | null> {
  const raw = await state.get(key);
  if (raw === null) return null;
  const parsed = indexEntrySchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

export async function writeEntry(state: StateStore, key: string, entry: IndexEntry): Promise<void> {
  await state.set(key, JSON.stringify(entry));
}
