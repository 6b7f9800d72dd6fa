import type { RepositoryConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { repositoryForHost } from "../hostnames.ts";
import { urlParts } from "../request-url.ts";

const HOST = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d+)?$/i;

/** The remote's absolute URL on the proxy, and the request headers it was built from (for `Vary`). */
export interface ProxyBase {
  url: string;
  vary: string[];
}

/** `TRUST_FORWARDED=true`: the proxy sits behind a load balancer that sets X-Forwarded-Proto/Host itself. */
export function trustsForwarded(env: Env): boolean {
  return typeof env.TRUST_FORWARDED === "string" && /^(1|true|yes)$/i.test(env.TRUST_FORWARDED.trim());
}

/**
 * The host the client asked for: the request's own (on Cloudflare, one the Worker is routed
 * for), or X-Forwarded-Host when TRUST_FORWARDED says a load balancer in front sets it.
 */
export function requestHost(request: Request, env: Env): string {
  const own = urlParts(request.url).host;
  if (!trustsForwarded(env)) return own;
  const forwarded = firstValue(request.headers.get("x-forwarded-host"));
  // Anything that is not a host name would end up inside cached documents: ignore it.
  return forwarded && HOST.test(forwarded) ? forwarded.toLowerCase() : own;
}

/**
 * The remote's absolute URL that rewritten documents point at. A host mapped to the remote
 * serves it at its root; otherwise PUBLIC_URL when set, else the request's own scheme and host,
 * under the route prefix. Forwarded headers count only with TRUST_FORWARDED, so the bases a
 * document is rewritten (and cached) for are the configured ones, not whatever a client sends.
 */
export function proxyBase(request: Request, remote: Pick<RepositoryConfig, "name" | "hostnames">, routePrefix: string, env: Env): ProxyBase {
  const vary = trustsForwarded(env) ? ["X-Forwarded-Host", "X-Forwarded-Proto"] : [];
  const { scheme, host } = requestOrigin(request, env);
  if (repositoryForHost([remote], host)) return { url: `${scheme}://${host}`, vary };
  return { url: `${clientOrigin(request, env).origin}${routePrefix}/${remote.name}`, vary };
}

/**
 * Where clients reach the proxy: `origin` is its root URL without a trailing slash — PUBLIC_URL
 * when set (which may carry a path), else the request's own scheme and host (forwarded ones with
 * TRUST_FORWARDED). The web UI's "Set me up" builds its URLs from it too.
 */
export function clientOrigin(request: Request, env: Env): { scheme: "http" | "https"; host: string; origin: string } {
  const publicUrl = configuredPublicUrl(env);
  if (publicUrl) return { scheme: publicUrl.protocol === "https:" ? "https" : "http", host: publicUrl.host, origin: publicUrl.href.replace(/\/+$/, "") };
  const { scheme, host } = requestOrigin(request, env);
  return { scheme, host, origin: `${scheme}://${host}` };
}

/** The scheme and host this request came in on, as far as this proxy may believe the headers. */
function requestOrigin(request: Request, env: Env): { scheme: "http" | "https"; host: string } {
  const forwardedProto = trustsForwarded(env) ? firstValue(request.headers.get("x-forwarded-proto"))?.toLowerCase() : undefined;
  // Without a forwarded scheme, PUBLIC_URL's says how clients reach the proxy (TLS ends in front of it).
  const publicUrl = configuredPublicUrl(env);
  const own = (publicUrl ? publicUrl.protocol === "https:" : urlParts(request.url).https) ? "https" : "http";
  const scheme = forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : own;
  return { scheme, host: requestHost(request, env) };
}

/** The last PUBLIC_URL parsed: it is read on every request that builds a link. */
let publicUrlParsed: { value: string; url: URL } | null = null;

/** PUBLIC_URL as a URL, or null when unset. A value that is not an http(s) URL is a configuration error. */
function configuredPublicUrl(env: Env): URL | null {
  const value = typeof env.PUBLIC_URL === "string" ? env.PUBLIC_URL.trim() : "";
  if (value === "") return null;
  if (publicUrlParsed?.value === value) return publicUrlParsed.url;
  const url = URL.canParse(value) ? new URL(value) : null;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.username) {
    throw new Error(`PUBLIC_URL must be an http(s) URL without query or credentials (got ${JSON.stringify(value)})`);
  }
  publicUrlParsed = { value, url };
  return url;
}

/** Proxies append to these headers: the first value is the client-facing one. */
function firstValue(header: string | null): string | undefined {
  const first = header?.split(",")[0]?.trim();
  return first ? first : undefined;
}
