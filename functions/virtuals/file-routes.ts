import type { StateStore } from "../../infra/state/types.ts";
import { safeDecode } from "../../providers/links.ts";
import { INDEX_FINDINGS_RETENTION_MS } from "../proxy/declared-digests.ts";

/**
 * Which member each file a merged document links came from (tarballs, distributions, charts,
 * `.info`/`.mod`/`.zip`): recorded before the merged document's last bytes go out, so every link
 * a client reads is routable, and kept like an index's declared digests (renewed by each merge).
 * Keyed by the decoded path and query, so any spelling of the link finds it.
 */
const routeKey = (virtual: string, path: string) => `vroute:${virtual}:${safeDecode(path)}`;

/** Routes looked up in this isolate: a hot file through a virtual costs no extra state read. */
const known = new Map<string, string>();
const KNOWN_MAX = 10_000;

export async function rememberRoutes(state: StateStore, virtual: string, routes: ReadonlyMap<string, string>): Promise<void> {
  if (routes.size === 0) return;
  const entries = [...routes].map(([path, member]) => [routeKey(virtual, path), member] as const);
  for (const [key, member] of entries) if (known.has(key)) known.set(key, member);
  await state.setMany(entries, INDEX_FINDINGS_RETENTION_MS);
}

/** The member a merged document routed this path (percent-encoded, with its query) to, or null. */
export async function routedMember(state: StateStore, virtual: string, path: string): Promise<string | null> {
  const key = routeKey(virtual, path);
  const cached = known.get(key);
  if (cached !== undefined) return cached;
  const member = await state.get(key);
  if (member === null) return null;
  if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value!);
  known.set(key, member);
  return member;
}
