import { Hono, type Context } from "hono";
import type { ArtifactRow } from "../../../infra/meta/types.ts";
import type { AppEnv } from "../../context.ts";
import { indexKey, readEntry } from "../../proxy/index-entry.ts";
import { count } from "../format.ts";
import { errorPage, Layout, render, DataTable } from "../layout.tsx";
import { packageObject, PACKAGE_VIEW_TYPES, versionsInIndex, type PackageObject } from "../packages.ts";
import { getRepository } from "../repositories.ts";
import { sessionOf } from "../session.ts";
import { findLocal } from "./local-files.tsx";
import { localPackagePage, localPackagesPage } from "./local-packages.tsx";

/** How many cached objects a package view reads (in path order, 1,000 a query); more are left out, and the page says so. */
const SCAN_LIMIT = 5_000;
const SCAN_PAGE = 1_000;
/** Index documents larger than this are not read for their version lists. */
const MAX_INDEX_BYTES = 8 * 1024 * 1024;

export const packagesRoutes = new Hono<AppEnv>();

interface Scan {
  type: string;
  objects: { row: ArtifactRow; object: PackageObject }[];
  truncated: boolean;
}

/** The repository's package type, and its cached objects that are packages' files or indexes. */
async function scan(c: Context<AppEnv>, remote: string): Promise<Scan | Response> {
  const repository = await getRepository(c.var.stores, "remotes", remote);
  if (!repository || !PACKAGE_VIEW_TYPES.has(repository.package)) return noPackageView(c, remote);
  const objects: Scan["objects"] = [];
  let after: { path: string; cacheKey: string } | undefined;
  let read = 0;
  for (;;) {
    const rows = await c.var.stores.meta.browseArtifacts(remote, { prefix: "", sort: "path", descending: false, after, limit: Math.min(SCAN_PAGE, SCAN_LIMIT - read) });
    for (const row of rows) {
      const object = packageObject(repository.package, row.path);
      if (object) objects.push({ row, object });
    }
    read += rows.length;
    const last = rows[rows.length - 1];
    if (!last || rows.length < SCAN_PAGE || read >= SCAN_LIMIT) return { type: repository.package, objects, truncated: read >= SCAN_LIMIT && rows.length > 0 };
    after = { path: last.path, cacheKey: last.cacheKey };
  }
}

const noPackageView = (c: Context<AppEnv>, name: string) => errorPage(c, 404, `Package views are for npm, PyPI, Helm and docker repositories; '${name}' is not one.`);

const packageHref = (remote: string, name: string) => `/ui/browse/${encodeURIComponent(remote)}/packages/view?name=${encodeURIComponent(name)}`;

/** `/ui/browse/{repository}/packages`: the packages that have cached files or indexes, with their cached versions. */
packagesRoutes.get("/:name/packages", async (c) => {
  const remote = c.req.param("name");
  const local = await findLocal(c, remote);
  if (local) return PACKAGE_VIEW_TYPES.has(local.package) ? localPackagesPage(c, local) : noPackageView(c, remote);
  const found = await scan(c, remote);
  if (found instanceof Response) return found;
  const packages = new Map<string, Set<string>>();
  for (const { object } of found.objects) {
    if (object.name === "*") continue;
    const versions = packages.get(object.name) ?? new Set<string>();
    if (object.version !== null) versions.add(object.version);
    packages.set(object.name, versions);
  }
  return render(
    c,
    <Layout title={`Packages in ${remote}`} session={sessionOf(c)} section="browse">
      <p>
        <a href={`/ui/browse/${encodeURIComponent(remote)}`}>Browse {remote} by folder</a>
      </p>
      {found.truncated && <p class="muted">From the first {count(SCAN_LIMIT)} cached objects only.</p>}
      {packages.size === 0 ? (
        <p>No package is cached yet.</p>
      ) : (
        <DataTable label="Packages" columns={["Package", ["Cached versions", "num"], "Versions"]}>
          {[...packages].sort(([a], [b]) => a.localeCompare(b)).map(([name, versions]) => (
            <tr>
              <th scope="row">
                <a href={packageHref(remote, name)}>{name}</a>
              </th>
              <td class="num">{count(versions.size)}</td>
              <td class="path">{[...versions].slice(0, 8).join(", ")}{versions.size > 8 ? ", …" : ""}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </Layout>,
  );
});

/** `/ui/browse/{repository}/packages/view?name=`: every version the cached index lists, and which of them are cached. */
packagesRoutes.get("/:name/packages/view", async (c) => {
  const remote = c.req.param("name");
  const name = c.req.query("name") ?? "";
  const local = await findLocal(c, remote);
  if (local) return PACKAGE_VIEW_TYPES.has(local.package) ? localPackagePage(c, local, name) : noPackageView(c, remote);
  const found = await scan(c, remote);
  if (found instanceof Response) return found;
  const mine = found.objects.filter(({ object }) => object.name === name || (object.name === "*" && object.version === null));
  const cached = new Map(mine.filter(({ object }) => object.version !== null).map(({ row, object }) => [object.version!, row]));
  const index = mine.find(({ object }) => object.version === null)?.row;
  const listed = index ? await readIndexVersions(c, remote, found.type, name, index) : null;
  const versions = [...new Set([...(listed ?? []), ...cached.keys()])];
  if (versions.length === 0 && !index) return errorPage(c, 404, `Nothing of '${name}' is cached in ${remote}.`);
  return render(
    c,
    <Layout title={name} session={sessionOf(c)} section="browse">
      <p>
        <a href={`/ui/browse/${encodeURIComponent(remote)}/packages`}>All packages in {remote}</a>
      </p>
      <p class="muted">
        {index ? (listed ? `Versions in the cached index: ${count(listed.length)}. Cached: ${count(cached.size)}.` : `The cached index could not be read for its versions. Cached: ${count(cached.size)}.`) : `No index is cached. Cached: ${count(cached.size)}.`}
      </p>
      <DataTable label="Versions" columns={[found.type === "docker" ? "Tag" : "Version", "Cached"]}>
        {versions.map((version) => {
          const row = cached.get(version);
          return (
            <tr>
              <th scope="row">{version}</th>
              <td>{row ? <a href={`/ui/browse/${encodeURIComponent(remote)}/object?key=${encodeURIComponent(row.cacheKey)}`}>cached</a> : <span class="muted">not cached</span>}</td>
            </tr>
          );
        })}
      </DataTable>
    </Layout>,
  );
});

/** The versions a cached index document lists (read from its blob, decompressed when it was stored compressed). */
async function readIndexVersions(c: Context<AppEnv>, remote: string, type: string, name: string, row: ArtifactRow): Promise<string[] | null> {
  if (row.size > MAX_INDEX_BYTES) return null;
  const [entry, blob] = await Promise.all([readEntry(c.var.stores.state, indexKey(remote, row.cacheKey)), c.var.stores.blobs.get(`blobs/sha256/${row.sha256}`)]);
  if (!blob?.body) return null;
  const body = entry?.contentEncoding === "gzip" ? blob.body.pipeThrough(new DecompressionStream("gzip")) : blob.body;
  return versionsInIndex(type, name, await new Response(body).text());
}
