import type { RemoteConfig } from "../config/schema.ts";
import { remoteForHost } from "../hostnames.ts";

const HOST = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d+)?$/i;

/**
 * The remote's absolute URL as the client reached it: the scheme and host a TLS-terminating
 * load balancer saw (X-Forwarded-Proto / X-Forwarded-Host), so https links stay https. A host
 * mapped to the remote serves it at its root; otherwise it lives under the route prefix.
 */
export function proxyBase(request: Request, remote: RemoteConfig, routePrefix: string): string {
  const origin = clientOrigin(request);
  return remoteForHost([remote], origin.host) ? origin.origin : `${origin.origin}${routePrefix}/${remote.name}`;
}

/** The scheme and host the client reached (see proxyBase); the web UI's "Set me up" builds its URLs from it too. */
export function clientOrigin(request: Request): { scheme: "http" | "https"; host: string; origin: string } {
  const url = new URL(request.url);
  const forwardedProto = firstValue(request.headers.get("x-forwarded-proto"))?.toLowerCase();
  const scheme = forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : url.protocol === "https:" ? "https" : "http";
  const claimedHost = firstValue(request.headers.get("x-forwarded-host")) ?? request.headers.get("host") ?? url.host;
  // Anything that is not a host name would end up inside cached documents: ignore it.
  const host = HOST.test(claimedHost) ? claimedHost.toLowerCase() : url.host;
  return { scheme, host, origin: `${scheme}://${host}` };
}

/** Proxies append to these headers: the first value is the client-facing one. */
function firstValue(header: string | null): string | undefined {
  const first = header?.split(",")[0]?.trim();
  return first ? first : undefined;
}
