import { knownVersion } from "../config/cache.ts";
import { isFresh, type IndexEntry } from "./index-entry.ts";

/**
 * Index entries this isolate served lately, so a hot hit needs no state-store round trip. An
 * entry is used only while it is fresh and while the version the isolate checks with its config
 * (at most every 2 s) is the one it was kept under: an eviction or delete bumps that version,
 * so it applies everywhere within ~2 s. Bounded, least recently used dropped first.
 */
const MAX_ENTRIES = 10_000;

interface Kept {
  entry: IndexEntry;
  version: string | null | undefined;
}

/** Insertion order is recency order: a hit moves its entry to the end. */
const kept = new Map<string, Kept>();

export function hotEntry(key: string): IndexEntry | undefined {
  const found = kept.get(key);
  if (!found) return undefined;
  kept.delete(key);
  if (found.version !== knownVersion() || !isFresh(found.entry)) return undefined;
  kept.set(key, found);
  return found.entry;
}

export function keepEntry(key: string, entry: IndexEntry): void {
  kept.delete(key);
  kept.set(key, { entry, version: knownVersion() });
  if (kept.size > MAX_ENTRIES) kept.delete(kept.keys().next().value!);
}

export function forgetEntry(key: string): void {
  kept.delete(key);
}
