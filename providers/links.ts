import type { Digest, Findings, RewriteContext } from "./types.ts";

/**
 * Files an index places outside the remote's base_url (another host, the same host outside the
 * base path, or a URL with a query string) are served under `_files/<host>/<path>[?<query>]`.
 * The proxy fetches such a path only from the exact URL an index of the remote linked, as
 * recorded when that index was rewritten, so the remote is not an open proxy. A leading
 * underscore cannot start an npm or PyPI name, so no package path collides with it.
 */
export const FOREIGN_PREFIX = "_files/";

export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Where a link lands in the remote's path space. */
export interface ResolvedLink {
  /** Path relative to the remote, percent-encoded, no leading slash, no query. */
  path: string;
  /** The link's query with its `?`, or "". */
  query: string;
  /** The link's fragment with its `#`, or "" (a PyPI `#sha256=` fragment stays with it). */
  fragment: string;
  /** The link was written relative to its document and still resolves inside the remote. */
  relative: boolean;
  /** For a `_files/` link: the exact upstream URL (no fragment) the proxy may fetch for it. */
  upstream: string | null;
}

/**
 * Whether a URL lies under a base URL: same origin and below its path, with no dot segment
 * hidden behind percent-encoding that an upstream could resolve above it. Credentials go only
 * to such URLs.
 */
export function underBaseUrl(url: URL, baseUrl: string): boolean {
  const base = new URL(`${withoutTrailingSlash(baseUrl)}/`);
  if (url.origin !== base.origin) return false;
  if (`${url.pathname}/` === base.pathname) return true;
  if (!url.pathname.startsWith(base.pathname)) return false;
  const rest = safeDecode(url.pathname.slice(base.pathname.length));
  return !rest.split(/[/\\]/).some((segment) => segment === ".." || segment === ".");
}

export interface LinkOptions {
  /** Write the proxy URL out in full even for a relative link (npm needs absolute tarball URLs). */
  absolute?: boolean;
  /** The link names an API document whose query the type keeps (Forge pagination): it stays a remote path. */
  keepQuery?: boolean;
}

/**
 * Maps a link found in an upstream document to the remote's path space, or null when it is not
 * an http(s) link. Every http(s) link maps: under base_url to the same path of the remote,
 * anything else to `_files/`.
 */
export function resolveLink(href: string, ctx: RewriteContext, options: LinkOptions = {}): ResolvedLink | null {
  const upstream = new URL(`${withoutTrailingSlash(ctx.upstreamBase)}/`);
  let url: URL;
  try {
    url = new URL(href.trim(), new URL(ctx.path, upstream));
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const fragment = url.hash;
  url.hash = "";
  const query = url.search;
  if (underBaseUrl(url, ctx.upstreamBase) && (query === "" || options.keepQuery)) {
    const relative = !/^([a-z][a-z0-9+.-]*:|\/)/i.test(href.trim());
    return { path: url.pathname.slice(upstream.pathname.length), query, fragment, relative, upstream: null };
  }
  return { path: `${FOREIGN_PREFIX}${url.host}${url.pathname}`, query, fragment, relative: false, upstream: url.href };
}

/**
 * A link rewritten to point at the proxy, with where it lands (null: left as it was). Relative
 * links that stay inside the remote keep their text unless `absolute` is asked for: they
 * resolve to the same place under the proxy.
 */
export function proxyHref(href: string, ctx: RewriteContext, options: LinkOptions = {}): { href: string; link: ResolvedLink | null } {
  const link = resolveLink(href, ctx, options);
  if (!link) return { href, link: null };
  if (link.relative && !options.absolute) return { href, link };
  return { href: `${withoutTrailingSlash(ctx.proxyBase)}/${link.path}${link.query}${link.fragment}`, link };
}

export function emptyFindings(): Findings {
  return { digests: new Map(), links: new Map() };
}

/** Records what a rewritten link declares: the URL behind a `_files/` path, and its file's digest. */
export function recordLink(findings: Findings, link: ResolvedLink, digest: Digest | null): void {
  const key = `${link.path}${link.query}`;
  if (link.upstream !== null) findings.links.set(key, link.upstream);
  if (digest) findings.digests.set(key, digest);
}

/** A file published beside a linked one under the same name plus a suffix (PEP 658 `.metadata`). */
export function companionLink(link: ResolvedLink, suffix: string): ResolvedLink {
  let upstream: string | null = null;
  if (link.upstream !== null) {
    const url = new URL(link.upstream);
    url.pathname += suffix;
    upstream = url.href;
  }
  return { ...link, path: `${link.path}${suffix}`, upstream };
}

/** Syntax check for classify(): `_files/<host>/<something>` with a plausible host. */
export function isForeignFilePath(path: string): boolean {
  return /^_files\/[a-z0-9.-]+(:\d+)?\/[^/]/i.test(path) && !/(^|\/)\.\.?(\/|$)/.test(path);
}

/** decodeURIComponent that leaves malformed escapes as they are instead of throwing. */
export function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
