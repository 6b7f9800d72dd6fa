import { prefers } from "./accept.ts";
import { hexDigest, sriDigest } from "./digests.ts";
import { FOREIGN_PREFIX, isForeignFilePath, proxyHref } from "./links.ts";
import type { Classification, Digest, Provider, RewriteContext, Rewritten } from "./types.ts";

/** npm registry API, read side only. Publishing and account calls are denied. */

const ABBREVIATED = "application/vnd.npm.install-v1+json";
const FULL = ["application/json"];
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** A request path split into the package name (`@scope/name` or `name`) and what follows it. */
interface PackagePath {
  name: string;
  rest: string[];
}

/** Splits `@scope%2fname/…`, `@scope/name/…` and `name/…` the same way, so they share cache keys. */
export function parsePackagePath(path: string): PackagePath | null {
  const segments = path.replace(/^%40/i, "@").replace(/\/+$/, "").split("/");
  const first = segments[0] ?? "";
  if (first === "" || first.startsWith("-") || first.startsWith("_") || first.startsWith(".")) return null;
  if (!first.startsWith("@")) return { name: first, rest: segments.slice(1) };
  const encodedSlash = /%2f/i.exec(first);
  if (encodedSlash) {
    const name = `${first.slice(0, encodedSlash.index)}/${first.slice(encodedSlash.index + 3)}`;
    return /^@[^/]+\/[^/]+$/.test(name) ? { name, rest: segments.slice(1) } : null;
  }
  const second = segments[1];
  return second ? { name: `${first}/${second}`, rest: segments.slice(2) } : null;
}

/** Registry endpoints under `-/` a read-only pull-through cache may answer. */
function classifySpecial(path: string): Classification {
  if (path === "-/ping") return { kind: "mutable", reason: "registry ping" };
  if (/^-\/package\/[^/]+(\/[^/]+)?\/dist-tags$/.test(path)) return { kind: "mutable", reason: "dist-tags" };
  if (/^-\/npm\/v1\/security\//.test(path)) {
    return { kind: "denied", reason: "audit requests carry the client's dependency tree; not proxied" };
  }
  if (/^-\/(user|whoami|v1\/login|npm\/v1\/tokens|npm\/v1\/user|org|team)(\/|$)/.test(path)) {
    return { kind: "denied", reason: "account endpoints are not proxied" };
  }
  return { kind: "denied", reason: `registry endpoint ${path} is not part of the read-only package API` };
}

export function classifyNpm(path: string): Classification {
  if (path === "") return { kind: "mutable", reason: "registry root" };
  if (path.startsWith(FOREIGN_PREFIX)) {
    return isForeignFilePath(path)
      ? { kind: "immutable", reason: "tarball on another host" }
      : { kind: "denied", reason: "malformed foreign file path" };
  }
  if (path.startsWith("-/")) return classifySpecial(path);
  const pkg = parsePackagePath(path);
  if (!pkg) return { kind: "denied", reason: "not an npm package name" };
  const { rest } = pkg;
  if (rest.length === 0) return { kind: "mutable", reason: "packument" };
  if (rest[0] === "-" && rest.length >= 2 && rest.at(-1)!.endsWith(".tgz")) {
    return { kind: "immutable", reason: "package tarball" };
  }
  if (rest.length === 1 && !rest[0]!.startsWith("-")) {
    return EXACT_VERSION.test(rest[0]!)
      ? { kind: "immutable", reason: "version document" }
      : { kind: "mutable", reason: "version document by dist-tag" };
  }
  return { kind: "denied", reason: "not part of the read-only package API" };
}

export function npmCacheKey(path: string, accept: string | null): string {
  const pkg = parsePackagePath(path);
  if (!pkg) return path;
  const key = [pkg.name, ...pkg.rest].join("/");
  const packument = pkg.rest.length === 0;
  // The abbreviated packument is a different body for the same URL.
  return packument && prefers(accept, [ABBREVIATED], FULL) ? `${key}#install-v1` : key;
}

interface Dist {
  tarball?: unknown;
  integrity?: unknown;
  shasum?: unknown;
}

interface VersionDocument {
  dist?: Dist;
}

/**
 * Points every `dist.tarball` of a packument (or of a single version document) at the proxy.
 * `integrity` and `shasum` are left untouched; they become the digests the caller verifies.
 */
export function rewriteNpmDocument(body: string, ctx: RewriteContext): Rewritten {
  const digests = new Map<string, Digest>();
  const document = JSON.parse(body) as VersionDocument & { versions?: Record<string, VersionDocument> };
  const versions = typeof document.versions === "object" && document.versions !== null ? Object.values(document.versions) : [];
  for (const version of [document, ...versions]) {
    const dist = version?.dist;
    if (typeof dist?.tarball !== "string") continue;
    // npm needs absolute tarball URLs.
    const link = proxyHref(dist.tarball, ctx, { absolute: true });
    if (link.path === null) continue;
    dist.tarball = link.href;
    const digest =
      (typeof dist.integrity === "string" ? sriDigest(dist.integrity) : null) ??
      (typeof dist.shasum === "string" ? hexDigest("sha1", dist.shasum) : null);
    if (digest) digests.set(link.path, digest);
  }
  return { body: JSON.stringify(document), digests };
}

export const npm: Provider = {
  type: "npm",
  classify: classifyNpm,
  cacheKey: (path, variant) => npmCacheKey(path, variant.accept),
  rewriter: {
    defaultFileHosts: [],
    rewrites: (path) => {
      const pkg = !path.startsWith(FOREIGN_PREFIX) && !path.startsWith("-/") ? parsePackagePath(path) : null;
      return pkg !== null && pkg.rest.length <= 1 && pkg.rest[0] !== "-";
    },
    rewrite: rewriteNpmDocument,
  },
};
