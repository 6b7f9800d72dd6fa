import type { LocalFile, PackageState, VersionRecord } from "../../infra/meta/local-store.ts";
import type { RequestScope } from "../context.ts";

/**
 * What an npm packument or a PyPI project page is generated from (LocalStore.readPackage, one
 * query), kept in the state store per package so that a read of the index costs one state read.
 * Every write to the package drops the copy once it has committed, and once more a moment later
 * (a read that fetched the rows just before the commit may store them just after it); the copy
 * also expires after PACKAGE_TTL_MS. Postgres stays the truth: a flushed or failing state store
 * only costs the query. Writes check what they change against the rows, never against this copy.
 */
const PACKAGE_TTL_MS = 5 * 60_000;
/** How long after a write its second drop of the copy comes. */
const SECOND_DROP_MS = 2_000;

export const localPackageKey = (local: string, name: string): string => `local:${local}:package:${name}`;

/** The package's rows for an index: the state store's copy, else Postgres (then copied). */
export async function readPackageForIndex(scope: RequestScope, local: string, name: string): Promise<PackageState | null> {
  const key = localPackageKey(local, name);
  const cached = await scope.stores.state.get(key).catch(() => null);
  if (cached !== null) return revive(JSON.parse(cached) as PackageState);
  const state = await scope.stores.locals.readPackage(local, name);
  if (state) {
    scope.background.run(
      scope.stores.state.set(key, JSON.stringify(state), PACKAGE_TTL_MS).catch((error: Error) => console.error(`local '${local}': package ${name} not cached: ${error.message}`)),
    );
  }
  return state;
}

/** After a write to the package has committed: its copy goes now, and again a moment later. */
export async function forgetPackage(scope: RequestScope, local: string, name: string): Promise<void> {
  const key = localPackageKey(local, name);
  const drop = () => scope.stores.state.delete(key).catch((error: Error) => console.error(`cached package ${key} not dropped: ${error.message}`));
  await drop();
  scope.background.run(new Promise((resolve) => setTimeout(resolve, SECOND_DROP_MS)).then(drop));
}

/** The dates JSON turned into strings. */
function revive(state: PackageState): PackageState {
  const date = (value: Date | string) => new Date(value);
  const version = (record: VersionRecord): VersionRecord => ({ ...record, publishedAt: date(record.publishedAt), deletedAt: record.deletedAt === null ? null : date(record.deletedAt) });
  const file = (record: LocalFile): LocalFile => ({ ...record, uploadedAt: date(record.uploadedAt) });
  return {
    ...state,
    package: { ...state.package, createdAt: date(state.package.createdAt), updatedAt: date(state.package.updatedAt) },
    versions: state.versions.map(version),
    files: state.files.map(file),
  };
}
