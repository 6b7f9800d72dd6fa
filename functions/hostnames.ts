import type { RepositoryConfig } from "./config/schema.ts";

/**
 * A hostname mapped to one repository serves it at the root: `registry.example.com/v2/library/alpine/…`
 * for docker, `dl.example.com/{path}` for everything else. This gives the path on the
 * canonical URL scheme, or null when the request is not for the repository (health, management, and
 * the web UI when the operator serves it on mapped hosts too: `UI_ON_MAPPED_HOSTS=true`).
 * A local's root is its top folder listing; a remote's (and a virtual's) root stays the proxy's info page.
 * A docker virtual is served under `/v2/{virtual}/…` like a docker remote.
 */
/** Where docker clients get the Bearer token the registry challenge sends them to (routes/docker.ts); every host serves it. */
export const REGISTRY_TOKEN_PATH = "/v2/token";

export function canonicalPath(repository: Pick<RepositoryConfig, "name" | "package"> & { type?: "remote" | "local" | "virtual" }, pathname: string, options: { ui?: boolean } = {}): string | null {
  if (pathname === "/health" || pathname.startsWith("/api/v2/")) return null;
  if (options.ui && (pathname === "/ui" || pathname.startsWith("/ui/"))) return null;
  if (repository.package === "docker") {
    const onRepository = pathname.startsWith("/v2/") && pathname !== "/v2/" && pathname !== REGISTRY_TOKEN_PATH;
    return onRepository ? `/v2/${repository.name}/${pathname.slice("/v2/".length)}` : null;
  }
  if (repository.type === "local") return `/api/v1/local/${repository.name}${pathname}`;
  if (repository.type === "virtual") return pathname === "/" ? null : `/api/v1/virtual/${repository.name}${pathname}`;
  return pathname === "/" ? null : `/api/v1/remote/${repository.name}${pathname}`;
}

export function repositoryForHost<R extends { hostnames: string[] }>(repositories: Iterable<R>, host: string): R | undefined {
  const wanted = host.toLowerCase();
  const hostOnly = wanted.replace(/:\d+$/, "");
  for (const repository of repositories) {
    if (repository.hostnames.includes(wanted) || repository.hostnames.includes(hostOnly)) return repository;
  }
  return undefined;
}
