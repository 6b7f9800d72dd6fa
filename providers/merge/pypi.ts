import { JsonRewriteStream } from "../json-stream.ts";
import { safeDecode } from "../links.ts";
import { decodeEntities, normalizeProjectName, parseIndexPage } from "../pypi.ts";
import { JsonObjectSplitter } from "./json-split.ts";
import { detach, mergeWhole, relinker, routeKey, StreamingMerge, type Answers, type FoundAnswer, type FoundDocument, type MemberBeingRead, type MemberDocument, type MemberDocumentReader, type Merged, type MergeContext, type MergeOutcome, type MergeStream } from "./members.ts";

/**
 * PyPI simple pages merged for a virtual: the root index (project names, unioned by normalized
 * name) and project pages (files, unioned by filename, the first member in order winning), read
 * from PEP 503 HTML or PEP 691 JSON — each member's in whichever form it answered — and written
 * in the form the client asked for. A file keeps its hash (`#sha256=` / `hashes`) and its
 * `requires-python`, `yanked`, `core-metadata`/`dist-info-metadata`, `gpg-sig` and `provenance`
 * (an HTML file keeps every attribute when the answer is HTML too). A member whose page lists no
 * file does not have the project: it never hides another's files, nor owns the name.
 */

export type SimpleFormat = "html" | "json";

export interface PypiMergeContext extends MergeContext {
  /** The form to answer in (the cache key's variant): members may have answered in either. */
  format: SimpleFormat;
}

/** An HTML attribute as written; a bare one (`data-yanked`) has value null. */
interface Attribute {
  name: string;
  value: string | null;
}

/** One distribution file of a project page, from either form, its link already through the virtual. */
interface PageFile {
  filename: string;
  href: string;
  /** The anchor's other attributes (from HTML), or the file object with its url rewritten (from JSON). */
  source: { html: Attribute[] } | { json: string; object: Record<string, unknown> };
}

const JSON_TYPE = /json/i;
/** An anchor element; a `>` inside a quoted attribute value (`data-requires-python=">=3.8"`) does not end its tag. */
const ANCHOR = /<a\b((?:[^>"']|"[^"]*"|'[^']*')*)>([\s\S]*?)<\/a\s*>/gi;
const ANCHOR_START = /<a\b/gi;
const ATTRIBUTE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
/** The longest anchor held while its end has not arrived. */
const MAX_ANCHOR = 1 << 20;

/** What a member's page yields, whichever its form. */
interface PageVisitor {
  file(href: string, attributes: Attribute[] | null, json: { raw: string; object: Record<string, unknown> } | null): void;
  project(name: string): void;
  version(version: string): void;
  apiVersion(version: string): void;
}

/** PEP 503: the anchors of a page, each handed over when it has ended; the rest of the page is not needed. */
function htmlMemberDocumentReader(root: boolean, visitor: PageVisitor): MemberDocumentReader {
  let pending = "";
  const read = (text: string) => {
    ANCHOR.lastIndex = 0;
    let last = 0;
    for (let match = ANCHOR.exec(text); match; match = ANCHOR.exec(text)) {
      last = ANCHOR.lastIndex;
      const content = decodeEntities(match[2]!.replace(/<[^>]*>/g, "")).trim();
      if (root) {
        if (content !== "") visitor.project(content);
        continue;
      }
      const attributes = parseAttributes(match[1]!);
      const href = attributes.find((attribute) => attribute.name === "href")?.value;
      if (href) visitor.file(href, attributes, null);
    }
    return last;
  };
  return {
    write(text) {
      const all = pending + text;
      const last = read(all);
      ANCHOR_START.lastIndex = last;
      const open = ANCHOR_START.exec(all);
      const partial = /<a?$/i.exec(all.slice(last));
      pending = open ? all.slice(open.index) : partial ? partial[0] : "";
      if (pending.length > MAX_ANCHOR) throw new Error(`an anchor longer than ${MAX_ANCHOR} characters`);
    },
    end() {
      pending = "";
    },
  };
}

function parseAttributes(text: string): Attribute[] {
  const attributes: Attribute[] = [];
  ATTRIBUTE.lastIndex = 0;
  for (let match = ATTRIBUTE.exec(text); match; match = ATTRIBUTE.exec(text)) {
    const raw = match[2] ?? match[3] ?? match[4];
    attributes.push({ name: match[1]!.toLowerCase(), value: raw === undefined ? null : decodeEntities(raw) });
  }
  return attributes;
}

/** PEP 691: `files`, `projects` and `versions` one by one, `meta` whole. */
function jsonMemberDocumentReader(visitor: PageVisitor): MemberDocumentReader {
  return new JsonObjectSplitter(["files", "projects", "versions"], {
    field(key, raw) {
      if (key !== "meta") return;
      const meta = JSON.parse(raw) as unknown;
      const version = isObject(meta) ? meta["api-version"] : undefined;
      if (typeof version === "string") visitor.apiVersion(version);
    },
    child(parent, _key, raw) {
      const value = JSON.parse(raw) as unknown;
      if (parent === "versions") {
        if (typeof value === "string") visitor.version(value);
      } else if (parent === "projects") {
        if (isObject(value) && typeof value.name === "string") visitor.project(value.name);
      } else if (isObject(value) && typeof value.url === "string") {
        visitor.file(value.url, null, { raw, object: value });
      }
    },
  });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `1.1` and later carry PEP 700's `versions`, `size` and `upload-time`. */
const hasVersions = (apiVersion: string) => {
  const [major, minor] = apiVersion.split(".").map(Number);
  return major === 1 && (minor ?? 0) >= 1;
};

/** What one member's page gave, kept only if it listed something. */
interface MemberPage {
  files: number;
  projects: number;
  versions: string[];
  apiVersion: string | null;
  json: boolean;
}

interface PypiMember<A extends FoundAnswer> extends MemberBeingRead<A> {
  readonly page: MemberPage;
}

class PypiMerge<A extends FoundAnswer> extends StreamingMerge<A, PypiMember<A>> {
  readonly #ctx: PypiMergeContext;
  /** The project's normalized name, or null on the root index. */
  readonly #project: string | null;
  /** Filenames (project page) or normalized project names (root) already written. */
  readonly #seen = new Set<string>();
  readonly #versions = new Set<string>();
  /** Whether every member in the merge answered PEP 691 at api-version 1.1 or later. */
  #allVersioned = true;
  #opened = false;
  #wrote = false;

  constructor(answers: Answers<A>, ctx: PypiMergeContext) {
    const page = parseIndexPage(ctx.path);
    if (!page) throw new Error(`${ctx.path} is not a simple index page`);
    super(answers, page.project === null ? "none" : "document", ctx.mergeLocalsWithRemotes);
    this.#ctx = ctx;
    this.#project = page.project;
  }

  protected open(answer: A): PypiMember<A> {
    const json = JSON_TYPE.test(answer.contentType ?? "");
    const page: MemberPage = { files: 0, projects: 0, versions: [], apiVersion: null, json };
    const visitor: PageVisitor = {
      file: (href, attributes, object) => {
        page.files++;
        this.#file(href, attributes, object);
      },
      project: (name) => {
        page.projects++;
        this.#name(name);
      },
      version: (version) => page.versions.push(version),
      apiVersion: (version) => {
        page.apiVersion = version;
      },
    };
    const document = json ? jsonMemberDocumentReader(visitor) : htmlMemberDocumentReader(this.#project === null, visitor);
    return { answer, document, page, relink: relinker(answer.base, this.#ctx) };
  }

  protected ended({ page }: PypiMember<A>): boolean {
    const listed = this.#project === null ? page.projects > 0 : page.files > 0;
    if (listed) {
      if (!page.json || page.apiVersion === null || !hasVersions(page.apiVersion)) this.#allVersioned = false;
      for (const version of page.versions) this.#versions.add(version);
    }
    return listed;
  }

  protected tail(outcome: MergeOutcome): string {
    const head = this.#head();
    if (this.#ctx.format === "html") return `${head}  </body>\n</html>\n`;
    const versioned = this.#allVersioned && outcome.served.length > 0;
    let tail = `${head}],"meta":{"api-version":"${versioned ? "1.1" : "1.0"}"}`;
    if (this.#project !== null) {
      tail += `,"name":${JSON.stringify(this.#project)}`;
      if (versioned) tail += `,"versions":${JSON.stringify([...this.#versions])}`;
    }
    return `${tail}}`;
  }

  /** The page's opening, written once, before the first entry (or at the end). */
  #head(): string {
    if (this.#opened) return "";
    this.#opened = true;
    if (this.#ctx.format === "json") return this.#project === null ? '{"projects":[' : '{"files":[';
    const title = this.#project === null ? "Simple index" : `Links for ${escapeHtml(this.#project)}`;
    const heading = this.#project === null ? "" : `    <h1>${title}</h1>\n`;
    return `<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.0">\n    <title>${title}</title>\n  </head>\n  <body>\n${heading}`;
  }

  #emit(entry: string): void {
    const separator = this.#ctx.format === "json" && this.#wrote ? "," : "";
    this.out += `${this.#head()}${separator}${entry}`;
    this.#wrote = true;
  }

  #name(name: string): void {
    const normalized = normalizeProjectName(name);
    if (this.#seen.has(normalized)) return;
    this.#seen.add(detach(normalized));
    if (this.#ctx.format === "json") this.#emit(JSON.stringify({ name }));
    else this.#emit(`    <a href="${escapeHtml(`${this.#ctx.virtualBase.replace(/\/+$/, "")}/simple/${normalized}/`)}">${escapeHtml(name)}</a><br />\n`);
  }

  #file(href: string, attributes: Attribute[] | null, json: { raw: string; object: Record<string, unknown> } | null): void {
    const member = this.current();
    const { href: relinked, route } = member.relink(href);
    const filename = (typeof json?.object.filename === "string" ? json.object.filename : "") || fileName(relinked);
    if (filename === "" || this.#seen.has(filename)) return;
    const metadata = json ? Boolean(json.object["core-metadata"] || json.object["dist-info-metadata"]) : advertisesMetadata(attributes!);
    const routes = route ? (metadata ? [routeKey(route), routeKey(route, ".metadata")] : [routeKey(route)]) : [];
    if (!this.routes.free(routes, member.answer.member)) return;
    this.routes.add(routes, member.answer.member);
    this.#seen.add(detach(filename));
    const file: PageFile = {
      filename,
      href: relinked,
      source: json ? { json: relinked === href ? json.raw : withUrl(json.raw, relinked), object: json.object } : { html: attributes!.filter((attribute) => attribute.name !== "href") },
    };
    this.#emit(this.#ctx.format === "json" ? fileJson(file) : fileAnchor(file));
  }
}

/** The last path segment of a link, decoded: what pip takes as the file's name. */
function fileName(href: string): string {
  try {
    return safeDecode(new URL(href).pathname.split("/").at(-1) ?? "");
  } catch {
    return safeDecode(href.replace(/[?#].*$/, "").split("/").at(-1) ?? "");
  }
}

function advertisesMetadata(attributes: readonly Attribute[]): boolean {
  return attributes.some((attribute) => (attribute.name === "data-core-metadata" || attribute.name === "data-dist-info-metadata") && attribute.value?.toLowerCase() !== "false");
}

/** A PEP 691 file object with its `url` replaced, every other byte kept. */
function withUrl(raw: string, url: string): string {
  const scanner = new JsonRewriteStream({
    start: (frames, kind) => kind === "string" && frames.length === 1 && frames[0]!.key === "url",
    string: () => url,
  });
  return scanner.write(raw) + scanner.end();
}

/** HTML attribute ↔ PEP 691 key, for the fields both forms carry. */
const FIELDS = [
  ["data-requires-python", "requires-python"],
  ["data-yanked", "yanked"],
  ["data-core-metadata", "core-metadata"],
  ["data-dist-info-metadata", "dist-info-metadata"],
  ["data-gpg-sig", "gpg-sig"],
  ["data-provenance", "provenance"],
] as const;

const METADATA_KEYS = new Set(["core-metadata", "dist-info-metadata"]);

function fileAnchor(file: PageFile): string {
  let href = file.href;
  let attributes: Attribute[];
  if ("html" in file.source) {
    attributes = file.source.html;
  } else {
    const object = file.source.object;
    const hashes = isObject(object.hashes) ? object.hashes : {};
    const algorithm = typeof hashes.sha256 === "string" ? "sha256" : Object.keys(hashes).find((name) => typeof hashes[name] === "string");
    if (algorithm && !href.includes("#")) href += `#${algorithm}=${hashes[algorithm] as string}`;
    attributes = [];
    for (const [name, key] of FIELDS) {
      const value = object[key];
      if (value === undefined || value === null || value === false) continue;
      if (METADATA_KEYS.has(key)) attributes.push({ name, value: value === true ? "true" : hashText(value) });
      else if (key === "yanked") attributes.push({ name, value: value === true ? "" : String(value) });
      else attributes.push({ name, value: String(value) });
    }
  }
  const rest = attributes.map((attribute) => (attribute.value === null ? ` ${attribute.name}` : ` ${attribute.name}="${escapeHtml(attribute.value)}"`)).join("");
  return `    <a href="${escapeHtml(href)}"${rest}>${escapeHtml(file.filename)}</a><br />\n`;
}

/** `{sha256: hex}` → `sha256=hex` (the HTML form names one hash). */
function hashText(value: unknown): string {
  if (!isObject(value)) return "true";
  const algorithm = typeof value.sha256 === "string" ? "sha256" : Object.keys(value).find((name) => typeof value[name] === "string");
  return algorithm ? `${algorithm}=${value[algorithm] as string}` : "true";
}

function fileJson(file: PageFile): string {
  if ("json" in file.source) return file.source.json;
  const fragment = /#([a-z0-9]+)=([0-9a-f]+)$/i.exec(file.href);
  const object: Record<string, unknown> = {
    filename: file.filename,
    url: file.href.replace(/#.*$/, ""),
    hashes: fragment ? { [fragment[1]!.toLowerCase()]: fragment[2]! } : {},
  };
  for (const [name, key] of FIELDS) {
    const attribute = file.source.html.find((candidate) => candidate.name === name);
    if (!attribute) continue;
    const value = attribute.value;
    if (METADATA_KEYS.has(key)) {
      if (value?.toLowerCase() === "false") continue;
      const hash = value ? /^([a-z0-9]+)=([0-9a-f]+)$/i.exec(value) : null;
      object[key] = hash ? { [hash[1]!.toLowerCase()]: hash[2]! } : true;
    } else if (key === "yanked") object[key] = value === null || value === "" ? true : value;
    else if (key === "gpg-sig") object[key] = value?.toLowerCase() === "true";
    else if (value !== null) object[key] = value;
  }
  return JSON.stringify(object);
}

/** Text and attribute values as PyPI writes them (`data-requires-python="&gt;=3.8"`): no bare `<`, `>` or `"` for a reader to trip on. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Starts a streaming merge of a simple page (root or project, by `ctx.path`). */
export function pypiMergeStream<A extends FoundAnswer>(answers: Answers<A>, ctx: PypiMergeContext): MergeStream<A> {
  return new PypiMerge<A>(answers, ctx);
}

/** The same merge over documents in memory. */
export function mergePypiPages(documents: readonly MemberDocument[], ctx: PypiMergeContext): Merged {
  return mergeWhole(pypiMergeStream<FoundDocument>(documents, ctx));
}
