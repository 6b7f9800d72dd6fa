import { isUnavailable } from "../../infra/unavailable.ts";
import type { Stores } from "../stores.ts";
import { isLocal, parseRepository, type LocalConfig, type RemoteConfig } from "./schema.ts";
import { virtualSchema, type VirtualConfig } from "./virtual.ts";

/**
 * The version isolates watch, bumped by whatever invalidates what they keep: config writes
 * (launcher, management API) and evictions (the index entries isolates keep, hot-entries.ts).
 */
export const CONFIG_VERSION_KEY = "config:version";

/** How long an isolate trusts its copy before asking the state store whether the version moved. */
const RECHECK_MS = 2_000;

/** The configured repositories as routes see them: remotes, locals and virtuals, by name. */
export interface ConfigSnapshot {
  remotes: Map<string, RemoteConfig>;
  locals: Map<string, LocalConfig>;
  virtuals: Map<string, VirtualConfig>;
}

interface Snapshot extends ConfigSnapshot {
  version: string | null;
  checkedAt: number;
}

let snapshot: Snapshot | null = null;

/** The version this isolate last saw (checked at most every RECHECK_MS by currentRemotes). */
export function knownVersion(): string | null | undefined {
  return snapshot?.version;
}

/** Whether this isolate checked the version within RECHECK_MS, so what it keeps under that version may be used without asking. */
export function configFresh(now = Date.now()): boolean {
  return snapshot !== null && now - snapshot.checkedAt < RECHECK_MS;
}

/**
 * The config as this isolate knows it. A hit costs no database query: Postgres is read only
 * when the version in the state store changed, and the version at most every RECHECK_MS.
 */
export async function currentConfig(stores: Stores): Promise<ConfigSnapshot> {
  const now = Date.now();
  if (snapshot && configFresh(now)) return snapshot;
  // One request re-checks; the others keep this copy meanwhile instead of all asking at once.
  // (Promises are not shared: Workers tie I/O to the request that started it.)
  if (snapshot) snapshot.checkedAt = now;
  const version = await configVersion(stores);
  // Unknown (state store down): keep the copy this isolate has; load one if it has none.
  if (snapshot && (version === undefined || snapshot.version === version)) {
    snapshot.checkedAt = now;
    return snapshot;
  }
  const loaded = await Promise.all([stores.meta.listRemotes(), stores.meta.listConfigs("virtuals")]).catch((error: unknown) => {
    // Postgres down: the copy this isolate has stays in force (dropping it would refuse every request).
    if (snapshot && isUnavailable(error)) return null;
    throw error;
  });
  if (loaded === null) return snapshot!;
  const [rows, virtualRows] = loaded;
  const remotes = new Map<string, RemoteConfig>();
  const locals = new Map<string, LocalConfig>();
  const virtuals = new Map<string, VirtualConfig>();
  for (const row of virtualRows) {
    const parsed = virtualSchema.safeParse(row.config);
    if (parsed.success) virtuals.set(row.name, { name: row.name, ...parsed.data });
    else console.error(`virtual '${row.name}' skipped: ${parsed.error.issues.map((issue) => issue.message).join("; ")}`);
  }
  for (const row of rows) {
    try {
      const repository = parseRepository(row.name, row.config);
      if (isLocal(repository)) locals.set(row.name, repository);
      else remotes.set(row.name, repository);
    } catch (error) {
      // Rows are validated on write; one that no longer parses (older build) is left out, not fatal.
      console.error(`remote '${row.name}' skipped: ${(error as Error).message}`);
    }
  }
  snapshot = { version: version ?? null, remotes, locals, virtuals, checkedAt: now };
  return snapshot;
}

/** The remotes of the current config. */
export async function currentRemotes(stores: Stores): Promise<Map<string, RemoteConfig>> {
  return (await currentConfig(stores)).remotes;
}

/** The version every isolate watches; undefined while the state store cannot be asked. */
async function configVersion(stores: Stores): Promise<string | null | undefined> {
  try {
    return await stores.state.get(CONFIG_VERSION_KEY);
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    return undefined;
  }
}
