import type { EvictionTarget } from "../../infra/meta/types.ts";
import { parseRegistryPath } from "../../providers/docker.ts";
import { parsePackagePath } from "../../providers/npm.ts";
import { normalizeProjectName } from "../../providers/pypi.ts";
import type { ConfigSnapshot } from "../config/cache.ts";
import type { LocalConfig } from "../config/schema.ts";
import type { ProxyContext } from "../context.ts";
import { evict } from "../storage/evict.ts";

/**
 * A write to a local changes documents that the virtuals over it merge: every virtual that has
 * the local as a member drops its merged copies of those documents at once, so the next request
 * through any of them merges again instead of serving the old merge until its mutable_ttl ends.
 * Called by every way a write reaches a local (its own URL, a docker local's /v2/, a virtual's
 * default_local), after the write answered.
 */
export async function localChanged(ctx: ProxyContext, config: ConfigSnapshot, local: LocalConfig, request: Request, path: string, response: Response): Promise<void> {
  if (!response.ok || request.method === "GET" || request.method === "HEAD") return;
  const virtuals = [...config.virtuals.values()].filter((virtual) => virtual.members.includes(local.name));
  if (virtuals.length === 0) return;
  const targets = await changedDocuments(local.package, path, response);
  for (const virtual of virtuals) {
    for (const target of targets) {
      await evict(ctx.stores, virtual.name, target).catch((error: Error) => console.error(`${virtual.name}: merged copy of ${JSON.stringify(target)} not dropped after a write to ${local.name}: ${error.message}`));
    }
  }
}

/** The merged documents (documents.ts) that a successful write at `path` (decoded, below the local) may change. */
async function changedDocuments(packageType: string, path: string, response: Response): Promise<EvictionTarget[]> {
  switch (packageType) {
    case "npm": {
      // publish, deprecate, unpublish ({name}, {name}/-rev/…, {name}/-/{file}/-rev/…) and dist-tags (-/package/{name}/dist-tags/{tag}).
      const name = parsePackagePath(path.replace(/^-\/package\/(.+)\/dist-tags(\/[^/]+)?$/, "$1"))?.name;
      return name ? [{ path: name }] : [];
    }
    case "pypi": {
      // twine posts to the root: the project is in the form, and in the answer.
      const answer = (await response
        .clone()
        .json()
        .catch(() => null)) as { project?: unknown } | null;
      const project = typeof answer?.project === "string" ? normalizeProjectName(answer.project) : null;
      return project ? [{ path: "simple/" }, { path: `simple/${project}/` }] : [{ prefix: "simple/" }];
    }
    case "helm":
      return [{ path: "index.yaml" }];
    case "docker": {
      const parsed = parseRegistryPath(path);
      return parsed?.kind === "manifest" ? [{ path: `${parsed.repository}/tags/list` }] : [];
    }
    default:
      return [];
  }
}
