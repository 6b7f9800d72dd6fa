import type { LinkContext, RewriteContext } from "./types.ts";

/**
 * Files an index places on another host are served under `_files/<host>/<path>` of the remote,
 * fetched from `<scheme>://<host>/<path>`: the upstream's scheme when the host is the upstream's
 * own, https otherwise. A leading underscore cannot start an npm or PyPI name, so no package
 * path collides with it.
 */
export const FOREIGN_PREFIX = "_files/";

export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Where a link lands in the remote's path space. */
export interface ResolvedLink {
  /** Path relative to the remote, percent-encoded, no leading slash. */
  path: string;
  /** Query and fragment of the link (a PyPI `#sha256=` fragment stays with it). */
  suffix: string;
  /** The link was written relative to its document and still resolves inside the remote. */
  relative: boolean;
}

/**
 * Maps a link found in an upstream document to the remote's path space, or null when it must
 * stay as it is: not http(s), or on a host the remote may not fetch from. A link is only mapped
 * when `fileUpstreamUrl` turns the path back into exactly that URL.
 */
export function resolveLink(href: string, ctx: RewriteContext): ResolvedLink | null {
  const upstream = new URL(`${withoutTrailingSlash(ctx.upstreamBase)}/`);
  let url: URL;
  try {
    url = new URL(href, new URL(ctx.path, upstream));
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const suffix = url.search + url.hash;
  if (url.origin === upstream.origin && url.pathname.startsWith(upstream.pathname)) {
    const relative = !/^([a-z][a-z0-9+.-]*:|\/)/i.test(href.trim());
    return { path: url.pathname.slice(upstream.pathname.length), suffix, relative };
  }
  if (!mayFetchFrom(url.host, ctx) || url.protocol !== schemeFor(url.host, ctx)) return null;
  return { path: `${FOREIGN_PREFIX}${url.host}${url.pathname}`, suffix, relative: false };
}

/**
 * A link rewritten to an absolute proxy URL, with the remote path the client will request.
 * Relative links that stay inside the remote keep their text unless `absolute` is asked for:
 * they resolve to the same place under the proxy.
 */
export function proxyHref(
  href: string,
  ctx: RewriteContext,
  { absolute = false } = {},
): { href: string; path: string | null } {
  const link = resolveLink(href, ctx);
  if (!link) return { href, path: null };
  if (link.relative && !absolute) return { href, path: link.path };
  return { href: `${withoutTrailingSlash(ctx.proxyBase)}/${link.path}${link.suffix}`, path: link.path };
}

/**
 * The upstream URL of a `_files/<host>/<path>` path, or null when the path is not one or names a
 * host the remote may not fetch from (the caller answers 403 for `_files/` paths it gets null for).
 */
export function fileUpstreamUrl(path: string, ctx: LinkContext): string | null {
  if (!path.startsWith(FOREIGN_PREFIX)) return null;
  const rest = path.slice(FOREIGN_PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return null;
  const host = rest.slice(0, slash).toLowerCase();
  if (!mayFetchFrom(host, ctx)) return null;
  return `${schemeFor(host, ctx)}//${host}${rest.slice(slash)}`;
}

/** Syntax check for classify(): `_files/<host>/<something>` with a plausible host. */
export function isForeignFilePath(path: string): boolean {
  return /^_files\/[a-z0-9.-]+(:\d+)?\/[^/]/i.test(path) && !/(^|\/)\.\.?(\/|$)/.test(path);
}

function mayFetchFrom(host: string, ctx: LinkContext): boolean {
  const own = new URL(ctx.upstreamBase).host;
  return host === own || ctx.fileHosts.some((allowed) => allowed.toLowerCase() === host);
}

function schemeFor(host: string, ctx: LinkContext): string {
  const upstream = new URL(ctx.upstreamBase);
  return host === upstream.host ? upstream.protocol : "https:";
}

/** decodeURIComponent that leaves malformed escapes as they are instead of throwing. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
