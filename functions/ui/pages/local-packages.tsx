import type { Context } from "hono";
import type { LocalFile } from "../../../infra/meta/local-store.ts";
import type { LocalConfig } from "../../config/schema.ts";
import type { AppEnv } from "../../context.ts";
import { browseHref } from "../browse-links.ts";
import { count, time } from "../format.ts";
import { DataTable, errorPage, Layout, render } from "../layout.tsx";
import { sessionOf } from "../session.ts";

/**
 * Package views of a local (npm, PyPI, Helm, docker): what was published, from its rows
 * (LocalStore), so every version listed is stored. packages.tsx routes a local's views here.
 */
const packagesHref = (local: string) => `/ui/browse/${encodeURIComponent(local)}/packages`;
const packageHref = (local: string, name: string) => `${packagesHref(local)}/view?name=${encodeURIComponent(name)}`;
const fileHref = (local: string, path: string) => `/ui/browse/${encodeURIComponent(local)}/file?path=${encodeURIComponent(path)}`;

/** What a version is called in each ecosystem. */
const versionLabel = (type: string) => (type === "docker" ? "Manifest digest" : "Version");

/** `/ui/browse/{local}/packages`: the local's packages with at least one live version. */
export async function localPackagesPage(c: Context<AppEnv>, local: LocalConfig): Promise<Response> {
  const packages = await c.var.stores.locals.listPackages(local.name);
  return render(
    c,
    <Layout title={`Packages in ${local.name}`} session={sessionOf(c)} section="browse">
      <p>
        <a href={browseHref(local.name)}>Browse {local.name} by folder</a>
      </p>
      {packages.length === 0 ? (
        <p>Nothing is published to {local.name} yet.</p>
      ) : (
        <DataTable label="Packages" columns={["Package", "Last change"]} caption={`Published to this ${local.package} local: every version listed is stored.`}>
          {packages.map((record) => (
            <tr>
              <th scope="row">
                <a href={packageHref(local.name, record.name)}>{record.displayName}</a>
              </th>
              <td>{time(record.updatedAt)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </Layout>,
  );
}

/** `/ui/browse/{local}/packages/view?name=`: a package's versions (unpublished ones marked), their tags and files. */
export async function localPackagePage(c: Context<AppEnv>, local: LocalConfig, name: string): Promise<Response> {
  const state = await c.var.stores.locals.readPackage(local.name, name);
  if (!state) return errorPage(c, 404, `Nothing named '${name}' is published to ${local.name}.`);
  const tagsOf = new Map<string, string[]>();
  for (const [tag, version] of Object.entries(state.tags)) tagsOf.set(version, [...(tagsOf.get(version) ?? []), tag]);
  const filesOf = new Map<string, LocalFile[]>();
  for (const file of state.files) if (file.version !== null) filesOf.set(file.version, [...(filesOf.get(file.version) ?? []), file]);
  const live = state.versions.filter((version) => version.deletedAt === null);
  // Newest first, as a registry's page shows them.
  const versions = [...state.versions].reverse();
  return render(
    c,
    <Layout title={state.package.displayName} session={sessionOf(c)} section="browse">
      <p>
        <a href={packagesHref(local.name)}>All packages in {local.name}</a>
      </p>
      <p class="muted">
        Published versions: {count(live.length)}
        {live.length < state.versions.length && ` (and ${count(state.versions.length - live.length)} unpublished)`}. Revision {state.package.revision}.
      </p>
      <DataTable label="Versions" columns={[versionLabel(local.package), "Tags", "Published", "By", "Files"]}>
        {versions.map((version) => (
          <tr>
            <th scope="row" class="path">
              {version.version}
            </th>
            <td>{(tagsOf.get(version.version) ?? []).join(", ")}</td>
            <td>{version.deletedAt ? <span class="muted">unpublished {time(version.deletedAt)}</span> : time(version.publishedAt)}</td>
            <td>{version.publishedBy}</td>
            <td class="path">
              {(filesOf.get(version.version) ?? []).map((file) => (
                <div>
                  <a href={fileHref(local.name, file.path)}>{file.path.split("/").pop()}</a>
                </div>
              ))}
            </td>
          </tr>
        ))}
      </DataTable>
    </Layout>,
  );
}
