import { prefers } from "./accept.ts";
import { hexDigest, sriDigest } from "./digests.ts";
import { JsonRewriteStream, type JsonFrame } from "./json-stream.ts";
import { emptyFindings, FOREIGN_PREFIX, isForeignFilePath, proxyHref, recordLink, type ResolvedLink } from "./links.ts";
import type { Classification, Digest, DocumentStream, Provider, RewriteContext } from "./types.ts";

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
  // The abbreviated packument is a different body for the same URL.
  return isPackument(pkg) && wantsAbbreviated(accept) ? `${key}#install-v1` : key;
}

const isPackument = (pkg: PackagePath) => pkg.rest.length === 0;
const wantsAbbreviated = (accept: string | null) => prefers(accept, [ABBREVIATED], FULL);

/** What the upstream is asked for each packument form (npm's own header for the abbreviated one). */
const ABBREVIATED_ACCEPT = `${ABBREVIATED}; q=1.0, application/json; q=0.8, */*`;
const FULL_ACCEPT = "application/json";

function npmUpstreamAccept(path: string, accept: string | null): string | undefined {
  const pkg = parsePackagePath(path);
  if (!pkg || pkg.rest[0] === "-") return undefined;
  return isPackument(pkg) && wantsAbbreviated(accept) ? ABBREVIATED_ACCEPT : FULL_ACCEPT;
}

/**
 * Points every `dist.tarball` of a packument (or of a single version document) at the proxy,
 * in pieces. `integrity` and `shasum` are left untouched; they become the digests the caller
 * verifies, collected as each `dist` object ends.
 */
export function npmDocumentStream(ctx: RewriteContext): DocumentStream {
  const findings = emptyFindings();
  let dist: { link: ResolvedLink | null; integrity: Digest | null; shasum: Digest | null } = { link: null, integrity: null, shasum: null };
  /** `dist` of the document itself (depth 1) or of `versions.<v>` (depth 3). */
  const distDepth = (frames: readonly JsonFrame[]): number | null => {
    if (frames.length >= 1 && frames[0]!.key === "dist") return 1;
    if (frames.length >= 3 && frames[0]!.key === "versions" && frames[2]!.key === "dist") return 3;
    return null;
  };
  const scanner = new JsonRewriteStream({
    start(frames, kind) {
      const depth = distDepth(frames);
      if (kind !== "string" || depth === null || frames.length !== depth + 1) return false;
      const field = frames[depth]!.key;
      return field === "tarball" || field === "integrity" || field === "shasum";
    },
    string(frames, value) {
      const field = frames.at(-1)!.key;
      if (field === "integrity") dist.integrity = sriDigest(value);
      else if (field === "shasum") dist.shasum = hexDigest("sha1", value);
      else {
        // npm needs absolute tarball URLs.
        const { href, link } = proxyHref(value, ctx, { absolute: true });
        dist.link = link;
        return href === value ? undefined : href;
      }
      return undefined;
    },
    close(frames) {
      const depth = distDepth(frames);
      if (depth === null || frames.length !== depth + 1) return;
      if (dist.link) recordLink(findings, dist.link, dist.integrity ?? dist.shasum);
      dist = { link: null, integrity: null, shasum: null };
    },
  });
  return { findings, write: (text) => scanner.write(text), end: () => scanner.end() };
}

export const npm: Provider = {
  type: "npm",
  classify: classifyNpm,
  cacheKey: (path, variant) => npmCacheKey(path, variant.accept),
  upstreamAccept: npmUpstreamAccept,
  rewriter: {
    rewrites: (path) => {
      const pkg = !path.startsWith(FOREIGN_PREFIX) && !path.startsWith("-/") ? parsePackagePath(path) : null;
      return pkg !== null && pkg.rest.length <= 1 && pkg.rest[0] !== "-";
    },
    stream: npmDocumentStream,
  },
};
