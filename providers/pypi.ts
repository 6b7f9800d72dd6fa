import { prefers } from "./accept.ts";
import { hexDigest, strongest } from "./digests.ts";
import { FOREIGN_PREFIX, isForeignFilePath, proxyHref, safeDecode } from "./links.ts";
import type { Classification, Digest, Provider, RewriteContext, Rewritten } from "./types.ts";

/**
 * PyPI simple repository API (PEP 503 HTML, PEP 691 JSON), with base_url at the index host
 * (`https://pypi.org`): project pages are `simple/<project>/`.
 */

const JSON_TYPES = ["application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.latest+json"];
const HTML_TYPES = ["application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html", "text/html"];

/** Distribution and companion files: their names carry the version, so they never change. */
const FILE_SUFFIX = /\.(whl|tar\.gz|tgz|tar\.bz2|tar\.xz|zip|egg|exe|msi|rpm|metadata|asc)$/i;

/** PEP 503 normalization: `re.sub(r"[-_.]+", "-", name).lower()`. */
export function normalizeProjectName(name: string): string {
  return name.replace(/[-_.]+/g, "-").toLowerCase();
}

const INDEX_PAGE = /^simple(?:\/([^/]+))?\/?$/;

export function classifyPypi(path: string): Classification {
  if (path.startsWith(FOREIGN_PREFIX)) {
    return isForeignFilePath(path)
      ? { kind: "immutable", reason: "distribution file on the index's file host" }
      : { kind: "denied", reason: "malformed foreign file path" };
  }
  if (/^legacy(\/|$)/.test(path)) return { kind: "denied", reason: "uploads are not proxied" };
  const page = INDEX_PAGE.exec(path);
  if (page) return { kind: "mutable", reason: page[1] ? "project index page" : "root index page" };
  if (/^pypi\/[^/]+\/([^/]+\/)?json$/.test(path)) return { kind: "mutable", reason: "JSON project metadata" };
  if (FILE_SUFFIX.test(path) || path.startsWith("packages/")) {
    return { kind: "immutable", reason: "distribution file" };
  }
  return { kind: "mutable", reason: "not a known PyPI path: revalidated like an index" };
}

export function pypiCacheKey(path: string, accept: string | null): string {
  const page = INDEX_PAGE.exec(path);
  if (!page) return path;
  const normalized = page[1] ? `simple/${normalizeProjectName(safeDecode(page[1]))}/` : "simple/";
  // PEP 691: one URL, two bodies chosen by Accept.
  return prefers(accept, JSON_TYPES, HTML_TYPES) ? `${normalized}#json` : normalized;
}

/** Rewrites a simple index page, HTML or JSON as its Content-Type says. */
export function rewritePypiIndex(body: string, ctx: RewriteContext): Rewritten {
  return /json/i.test(ctx.contentType ?? "") ? rewriteJsonPage(body, ctx) : rewriteHtmlPage(body, ctx);
}

const ANCHOR = /<a\b[^>]*>/gi;
const HREF = /(\bhref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const CORE_METADATA = /\bdata-(?:core|dist-info)-metadata\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;

/**
 * PEP 503: rewrites each anchor's href and leaves the rest of the tag byte for byte, so
 * `data-requires-python`, `data-yanked` and the core-metadata attributes stay as they are.
 * Core metadata stays advertised: `<file>.metadata` maps through the same link, so it is served.
 */
function rewriteHtmlPage(body: string, ctx: RewriteContext): Rewritten {
  const digests = new Map<string, Digest>();
  const text = body.replace(ANCHOR, (tag) => {
    const href = HREF.exec(tag);
    if (!href) return tag;
    const original = decodeEntities(href[3] ?? href[4] ?? href[5] ?? "");
    const link = proxyHref(original, ctx);
    if (link.path === null) return tag;
    recordFileDigests(digests, link.path, fragmentDigest(original), metadataDigest(tag));
    if (link.href === original) return tag;
    return tag.replace(HREF, (_all, prefix: string) => `${prefix}"${escapeAttribute(link.href)}"`);
  });
  return { body: text, digests };
}

interface Pep691File {
  url?: unknown;
  hashes?: unknown;
  "core-metadata"?: unknown;
  "dist-info-metadata"?: unknown;
}

function rewriteJsonPage(body: string, ctx: RewriteContext): Rewritten {
  const digests = new Map<string, Digest>();
  const page = JSON.parse(body) as { files?: Pep691File[] };
  for (const file of Array.isArray(page.files) ? page.files : []) {
    if (typeof file.url !== "string") continue;
    const link = proxyHref(file.url, ctx);
    if (link.path === null) continue;
    file.url = link.href;
    recordFileDigests(
      digests,
      link.path,
      hashesDigest(file.hashes),
      hashesDigest(file["core-metadata"] ?? file["dist-info-metadata"]),
    );
  }
  return { body: JSON.stringify(page), digests };
}

function recordFileDigests(digests: Map<string, Digest>, path: string, file: Digest | null, metadata: Digest | null) {
  if (file) digests.set(path, file);
  if (metadata) digests.set(`${path}.metadata`, metadata);
}

/** `…#sha256=<hex>` → digest. */
function fragmentDigest(href: string): Digest | null {
  const match = /#([a-z0-9]+)=([0-9a-f]+)$/i.exec(href);
  return match ? hexDigest(match[1]!, match[2]!) : null;
}

/** `data-core-metadata="sha256=<hex>"` → digest; `"true"` promises the file without one. */
function metadataDigest(tag: string): Digest | null {
  const attribute = CORE_METADATA.exec(tag);
  const value = decodeEntities(attribute?.[2] ?? attribute?.[3] ?? attribute?.[4] ?? "");
  const match = /^([a-z0-9]+)=([0-9a-f]+)$/i.exec(value);
  return match ? hexDigest(match[1]!, match[2]!) : null;
}

/** PEP 691 `hashes` object (also the form of `core-metadata` when it is not a boolean). */
function hashesDigest(hashes: unknown): Digest | null {
  if (typeof hashes !== "object" || hashes === null) return null;
  return strongest(
    Object.entries(hashes).map(([algorithm, hex]) => (typeof hex === "string" ? hexDigest(algorithm, hex) : null)),
  );
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (entity, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith("#")) {
      const code = lower.startsWith("#x") ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[lower] ?? entity;
  });
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
}

export const pypi: Provider = {
  type: "pypi",
  classify: classifyPypi,
  cacheKey: (path, variant) => pypiCacheKey(path, variant.accept),
  rewriter: {
    defaultFileHosts: ["files.pythonhosted.org"],
    rewrites: (path) => INDEX_PAGE.test(path),
    rewrite: rewritePypiIndex,
  },
};
