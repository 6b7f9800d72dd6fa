import { prefers } from "./accept.ts";
import { hexDigest, strongest } from "./digests.ts";
import { JsonRewriteStream, type JsonFrame } from "./json-stream.ts";
import { companionLink, emptyFindings, FOREIGN_PREFIX, isForeignFilePath, proxyHref, recordLink, safeDecode, type ResolvedLink } from "./links.ts";
import type { Classification, Digest, DocumentStream, Findings, Provider, RewriteContext } from "./types.ts";

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

/** A simple index page's path: the root (`project` null) or a project's page, its name normalized; null for other paths. */
export function parseIndexPage(path: string): { project: string | null } | null {
  const page = INDEX_PAGE.exec(path);
  if (!page) return null;
  return { project: page[1] ? normalizeProjectName(safeDecode(page[1])) : null };
}

export function pypiCacheKey(path: string, accept: string | null): string {
  const page = parseIndexPage(path);
  if (!page) return path;
  const normalized = page.project !== null ? `simple/${page.project}/` : "simple/";
  // PEP 691: one URL, two bodies chosen by Accept.
  return wantsJson(accept) ? `${normalized}#json` : normalized;
}

const wantsJson = (accept: string | null) => prefers(accept, JSON_TYPES, HTML_TYPES);

/** What the upstream is asked for each form: pip's own preference order, or HTML only. */
const JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";
const HTML_ACCEPT = "application/vnd.pypi.simple.v1+html, text/html;q=0.9";

/** Rewrites a simple index page, HTML or JSON as its Content-Type says, in pieces. */
export function pypiIndexStream(ctx: RewriteContext): DocumentStream {
  return /json/i.test(ctx.contentType ?? "") ? jsonPageStream(ctx) : htmlPageStream(ctx);
}

const ANCHOR = /<a\b[^>]*>/gi;
/** Where an anchor tag may start but has not ended yet: `<`, `<a`, `<a …` with no `>` after it. */
const OPEN_ANCHOR = /<(?:a(?:\W|$)|$)/gi;
const HREF = /(\bhref\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
const CORE_METADATA = /\bdata-(?:core|dist-info)-metadata\s*=\s*("([^"]*)"|'([^']*)'|([^\s"'>]+))/i;
/** The longest anchor tag held while its end has not arrived. */
const MAX_TAG = 1 << 20;

/**
 * PEP 503: rewrites each anchor's href and leaves the rest of the tag byte for byte, so
 * `data-requires-python`, `data-yanked` and the core-metadata attributes stay as they are.
 * Core metadata stays advertised: `<file>.metadata` maps through the same link, so it is served.
 * Text is written out up to the first anchor that has not ended yet.
 */
function htmlPageStream(ctx: RewriteContext): DocumentStream {
  const findings = emptyFindings();
  let pending = "";
  const rewriteTag = (tag: string): string => {
    const href = HREF.exec(tag);
    if (!href) return tag;
    const original = decodeEntities(href[3] ?? href[4] ?? href[5] ?? "");
    const { href: proxied, link } = proxyHref(original, ctx);
    if (link === null) return tag;
    recordFile(findings, link, fragmentDigest(original), metadataOf(tag));
    if (proxied === original) return tag;
    return tag.replace(HREF, (_all, prefix: string) => `${prefix}"${escapeAttribute(proxied)}"`);
  };
  const rewrite = (text: string, final: boolean): string => {
    let out = "";
    let last = 0;
    ANCHOR.lastIndex = 0;
    for (let match = ANCHOR.exec(text); match; match = ANCHOR.exec(text)) {
      out += text.slice(last, match.index) + rewriteTag(match[0]);
      last = ANCHOR.lastIndex;
    }
    if (final) return out + text.slice(last);
    // An anchor before the last `>` would have matched: only one after it can still be open.
    OPEN_ANCHOR.lastIndex = Math.max(last, text.lastIndexOf(">") + 1);
    const open = OPEN_ANCHOR.exec(text);
    const hold = open ? open.index : text.length;
    pending = text.slice(hold);
    if (pending.length > MAX_TAG) throw new Error(`an anchor tag longer than ${MAX_TAG} characters`);
    return out + text.slice(last, hold);
  };
  return {
    findings,
    write: (text) => rewrite(pending + text, false),
    end: () => {
      const rest = pending;
      pending = "";
      return rewrite(rest, true);
    },
  };
}

/** A PEP 658 metadata file the page promises, with the digest it declares for it (if any). */
interface Metadata {
  digest: Digest | null;
}

function recordFile(findings: Findings, link: ResolvedLink, file: Digest | null, metadata: Metadata | null) {
  recordLink(findings, link, file);
  if (metadata) recordLink(findings, companionLink(link, ".metadata"), metadata.digest);
}

/** PEP 691: rewrites each file's `url`, reading its `hashes` and `core-metadata` as they pass. */
function jsonPageStream(ctx: RewriteContext): DocumentStream {
  const findings = emptyFindings();
  interface File {
    link: ResolvedLink | null;
    hashes: (Digest | null)[];
    metadata: Record<"core-metadata" | "dist-info-metadata", { advertised: boolean; hashes: (Digest | null)[] }>;
  }
  const blank = (): File => ({
    link: null,
    hashes: [],
    metadata: { "core-metadata": { advertised: false, hashes: [] }, "dist-info-metadata": { advertised: false, hashes: [] } },
  });
  let file = blank();
  /** `files[i].<field>` is at depth 3, `files[i].<field>.<name>` at depth 4. */
  const inFile = (frames: readonly JsonFrame[]) => frames.length >= 3 && frames[0]!.key === "files" && frames[1]!.array;
  const metadataField = (key: unknown) => (key === "core-metadata" || key === "dist-info-metadata" ? key : null);
  const scanner = new JsonRewriteStream({
    start(frames, kind) {
      if (!inFile(frames)) return false;
      const field = frames[2]!.key;
      if (frames.length === 3) {
        const metadata = metadataField(field);
        if (metadata && kind === "object") file.metadata[metadata].advertised = true;
        return (field === "url" && kind === "string") || (metadata !== null && kind === "literal");
      }
      return frames.length === 4 && kind === "string" && (field === "hashes" || metadataField(field) !== null);
    },
    string(frames, value) {
      const field = frames[2]!.key;
      if (frames.length === 3) {
        const { href, link } = proxyHref(value, ctx);
        file.link = link;
        return href === value ? undefined : href;
      }
      const digest = hexDigest(String(frames[3]!.key), value);
      const metadata = metadataField(field);
      (metadata ? file.metadata[metadata].hashes : file.hashes).push(digest);
      return undefined;
    },
    literal(frames, text) {
      const metadata = metadataField(frames[2]!.key);
      if (metadata && text === "true") file.metadata[metadata].advertised = true;
    },
    close(frames) {
      if (frames.length !== 3 || !inFile(frames)) return;
      if (file.link) {
        const core = file.metadata["core-metadata"];
        const chosen = core.advertised ? core : file.metadata["dist-info-metadata"];
        recordFile(findings, file.link, strongest(file.hashes), chosen.advertised ? { digest: strongest(chosen.hashes) } : null);
      }
      file = blank();
    },
  });
  return { findings, write: (text) => scanner.write(text), end: () => scanner.end() };
}

/** `…#sha256=<hex>` → digest. */
function fragmentDigest(href: string): Digest | null {
  const match = /#([a-z0-9]+)=([0-9a-f]+)$/i.exec(href);
  return match ? hexDigest(match[1]!, match[2]!) : null;
}

/** `data-core-metadata="sha256=<hex>"` declares a digest; `"true"` promises the file without one. */
function metadataOf(tag: string): Metadata | null {
  const attribute = CORE_METADATA.exec(tag);
  if (!attribute) return null;
  const value = decodeEntities(attribute[2] ?? attribute[3] ?? attribute[4] ?? "");
  if (value.toLowerCase() === "false") return null;
  const match = /^([a-z0-9]+)=([0-9a-f]+)$/i.exec(value);
  return { digest: match ? hexDigest(match[1]!, match[2]!) : null };
}

export function decodeEntities(text: string): string {
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
  upstreamAccept: (path, accept) => (INDEX_PAGE.test(path) ? (wantsJson(accept) ? JSON_ACCEPT : HTML_ACCEPT) : undefined),
  rewriter: {
    rewrites: (path) => INDEX_PAGE.test(path),
    stream: pypiIndexStream,
  },
};
