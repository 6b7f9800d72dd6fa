import type { RemoteConfig } from "./config/schema.ts";

/**
 * A hostname mapped to one remote serves it at the root: `registry.example.com/v2/library/alpine/…`
 * for docker, `dl.example.com/{path}` for everything else. This gives the path on the
 * canonical URL scheme, or null when the request is not for the remote (health, management, and
 * the web UI when the operator serves it on mapped hosts too: `UI_ON_MAPPED_HOSTS=true`).
 */
export function canonicalPath(remote: RemoteConfig, pathname: string, options: { ui?: boolean } = {}): string | null {
  if (pathname === "/health" || pathname.startsWith("/api/v2/")) return null;
  if (options.ui && (pathname === "/ui" || pathname.startsWith("/ui/"))) return null;
  if (remote.package === "docker") {
    return pathname.startsWith("/v2/") && pathname !== "/v2/" ? `/v2/${remote.name}/${pathname.slice("/v2/".length)}` : null;
  }
  return pathname === "/" ? null : `/api/v1/remote/${remote.name}${pathname}`;
}

export function remoteForHost(remotes: Iterable<RemoteConfig>, host: string): RemoteConfig | undefined {
  const wanted = host.toLowerCase();
  const hostOnly = wanted.replace(/:\d+$/, "");
  for (const remote of remotes) {
    if (remote.hostnames.includes(wanted) || remote.hostnames.includes(hostOnly)) return remote;
  }
  return undefined;
}
