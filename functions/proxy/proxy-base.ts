import type { RemoteConfig } from "../config/schema.ts";
import { remoteForHost } from "../hostnames.ts";

const HOST = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d+)?$/i;

/**
 * The remote's absolute URL as the client reached it: the scheme and host a TLS-terminating
 * load balancer saw (X-Forwarded-Proto / X-Forwarded-Host), so https links stay https. A host
 * mapped to the remote serves it at its root; otherwise it lives under the route prefix.
 */
export function proxyBase(request: Request, remote: RemoteConfig, routePrefix: string): string {
  const url = new URL(request.url);
  const forwardedProto = firstValue(request.headers.get("x-forwarded-proto"))?.toLowerCase();
  const scheme = forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : url.protocol.slice(0, -1);
  const claimedHost = firstValue(request.headers.get("x-forwarded-host")) ?? request.headers.get("host") ?? url.host;
  // Anything that is not a host name would end up inside cached documents: ignore it.
  const host = HOST.test(claimedHost) ? claimedHost.toLowerCase() : url.host;
  const origin = `${scheme}://${host}`;
  return remoteForHost([remote], host) ? origin : `${origin}${routePrefix}/${remote.name}`;
}

/** Proxies append to these headers: the first value is the client-facing one. */
function firstValue(header: string | null): string | undefined {
  const first = header?.split(",")[0]?.trim();
  return first ? first : undefined;
}
