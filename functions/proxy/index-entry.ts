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

/**
 * How long an index entry stays in the state store after it was written (at least until it
 * stops being fresh). Past that the metadata record (artifacts.entry) refills it on the next
 * request, so the state store holds what is in use, not everything ever cached.
 */
const ENTRY_RETENTION_MS = 7 * 24 * 3600_000;

export function entryTtlMs(entry: IndexEntry, now = Date.now()): number {
  return Math.max(ENTRY_RETENTION_MS, entry.freshUntil - now + ENTRY_RETENTION_MS);
}
export const lockKey = (remote: string, cacheKey: string) => `lock:${remote}:${cacheKey}`;

export function isFresh(entry: IndexEntry, now = Date.now()): boolean {
  return entry.freshUntil === 0 || now < entry.freshUntil;
}

/** immutable_ttl 0 means forever; mutable_ttl 0 means ask the upstream every time. */
export function freshUntil(kind: Mutability, ttlSeconds: number, now = Date.now()): number {
  if (kind === "immutable" && ttlSeconds === 0) return 0;
  return now + ttlSeconds * 1000;
}

/** An entry with the exact text it is stored as: what a compare-and-set expects to replace. */
export interface StoredEntry {
  entry: IndexEntry;
  raw: string;
}

export function parseEntry(raw: string | null): StoredEntry | null {
  if (raw === null) return null;
  try {
    const parsed = indexEntrySchema.safeParse(JSON.parse(raw));
    return parsed.success ? { entry: parsed.data, raw } : null;
  } catch {
    return null;
  }
}

export async function readStoredEntry(state: StateStore, key: string): Promise<StoredEntry | null> {
  return parseEntry(await state.get(key));
}

export async function readEntry(state: StateStore, key: string): Promise<IndexEntry | null> {
  return (await readStoredEntry(state, key))?.entry ?? null;
}
