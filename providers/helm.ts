import { hexDigest } from "./digests.ts";
import { JsonRewriteStream, type JsonFrame } from "./json-stream.ts";
import { emptyFindings, FOREIGN_PREFIX, isForeignFilePath, proxyHref, recordLink, type ResolvedLink } from "./links.ts";
import type { Classification, Digest, DocumentStream, Findings, Provider, RewriteContext } from "./types.ts";

/** Helm chart repositories: `index.yaml` plus chart archives. */

export function classifyHelm(path: string): Classification {
  if (path.startsWith(FOREIGN_PREFIX)) {
    return isForeignFilePath(path)
      ? { kind: "immutable", reason: "chart on another host" }
      : { kind: "denied", reason: "malformed foreign file path" };
  }
  if (/(^|\/)index\.yaml$/.test(path)) return { kind: "mutable", reason: "repository index" };
  if (/\.(tgz|tar\.gz|prov)$/.test(path)) return { kind: "immutable", reason: "chart archive or provenance file" };
  return { kind: "mutable", reason: "other repository file" };
}

/** One chart version's links and declared digest, recorded when the version ends. */
class ChartVersion {
  links: ResolvedLink[] = [];
  digest: Digest | null = null;

  record(findings: Findings): void {
    for (const link of this.links) recordLink(findings, link, this.digest);
  }
}

const digestOf = (value: string) => hexDigest("sha256", value.replace(/^sha256:/, ""));

/**
 * Rewrites absolute chart `urls` to proxy URLs (relative ones already resolve through the proxy)
 * and collects each chart's `digest` (sha256 of the archive), in pieces, leaving every other
 * byte as it was. index.yaml is YAML as Helm writes it (block style); a JSON index (which is
 * YAML too) is read as JSON.
 */
export function helmIndexStream(ctx: RewriteContext): DocumentStream {
  const findings = emptyFindings();
  let inner: { write(text: string): string; end(): string } | null = null;
  let leading = "";
  return {
    findings,
    write(text) {
      if (inner) return inner.write(text);
      leading += text;
      const first = leading.trimStart()[0];
      if (first === undefined) return "";
      inner = first === "{" ? jsonIndex(ctx, findings) : new YamlIndex(ctx, findings);
      const all = leading;
      leading = "";
      return inner.write(all);
    },
    end() {
      return inner ? inner.end() : leading;
    },
  };
}

function jsonIndex(ctx: RewriteContext, findings: Findings): JsonRewriteStream {
  let version = new ChartVersion();
  /** entries.<chart>[i] is the version object: depth 3 inside it. */
  const inVersion = (frames: readonly JsonFrame[]) => frames.length >= 3 && frames[0]!.key === "entries" && frames[2]!.array;
  return new JsonRewriteStream({
    start(frames, kind) {
      if (kind !== "string" || !inVersion(frames)) return false;
      return (frames.length === 4 && frames[3]!.key === "digest") || (frames.length === 5 && frames[3]!.key === "urls" && frames[4]!.array);
    },
    string(frames, value) {
      if (frames.length === 4) {
        version.digest = digestOf(value);
        return undefined;
      }
      const { href, link } = proxyHref(value, ctx);
      if (link) version.links.push(link);
      return href === value ? undefined : href;
    },
    close(frames) {
      if (frames.length !== 4 || !inVersion(frames)) return;
      version.record(findings);
      version = new ChartVersion();
    },
  });
}

/** An open node of the YAML tree: a mapping key or a sequence item, by the column it starts at. */
interface Node {
  indent: number;
  item: boolean;
  key: string | null;
  /** A key with nothing after its colon: its value is the block below (a sequence may sit at its own column). */
  open: boolean;
  version?: ChartVersion;
}

/** The longest line held while its end has not arrived. */
const MAX_LINE = 1 << 20;
const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[\]}>|&*!%@`,?:-][^#]*?|[-?:][^\s#][^#]*?)[ \t]*:(?:[ \t]+|$)/;
const SAFE_PLAIN = /^[A-Za-z0-9][A-Za-z0-9._~:/?@!$&'()*+;=%-]*$/;

/**
 * Block-style YAML, line by line: it tracks the open keys and sequence items by indentation
 * (sequences may sit at their parent key's column, as Go's YAML writes them), skips scalars
 * that continue on more indented lines and block scalars, and rewrites the scalars of
 * `entries.<chart>[i].urls`. Anything it cannot rewrite safely there (anchors, tags, a URL
 * over several lines, a flow sequence over several lines) refuses the document.
 */
class YamlIndex {
  readonly #ctx: RewriteContext;
  readonly #findings: Findings;
  readonly #nodes: Node[] = [];
  #partial = "";
  /** Lines more indented than this continue the scalar above (null: none does). */
  #continuation: { indent: number; url: boolean } | null = null;

  constructor(ctx: RewriteContext, findings: Findings) {
    this.#ctx = ctx;
    this.#findings = findings;
  }

  write(text: string): string {
    const all = this.#partial + text;
    const lastNewline = all.lastIndexOf("\n");
    if (lastNewline < 0) {
      this.#partial = all;
      if (all.length > MAX_LINE) throw new Error(`a YAML line longer than ${MAX_LINE} characters`);
      return "";
    }
    this.#partial = all.slice(lastNewline + 1);
    let out = "";
    let start = 0;
    while (start <= lastNewline) {
      const end = all.indexOf("\n", start);
      out += this.#line(all.slice(start, end)) + "\n";
      start = end + 1;
    }
    return out;
  }

  end(): string {
    const rest = this.#partial === "" ? "" : this.#line(this.#partial);
    this.#partial = "";
    while (this.#nodes.length > 0) this.#pop();
    return rest;
  }

  #line(line: string): string {
    const carriage = line.endsWith("\r") ? "\r" : "";
    const content = carriage ? line.slice(0, -1) : line;
    const indent = content.length - content.trimStart().length;
    const body = content.slice(indent);
    if (body === "") return line;
    if (this.#continuation && indent > this.#continuation.indent) {
      if (this.#continuation.url && !body.startsWith("#")) throw new Error("a chart URL continues over several lines");
      return line;
    }
    this.#continuation = null;
    if (body.startsWith("#")) return line;
    if (indent === 0 && (/^(---|\.\.\.)(\s|$)/.test(body) || body.startsWith("%"))) {
      while (this.#nodes.length > 0) this.#pop();
      return line;
    }
    return this.#node(content, indent) + carriage;
  }

  /** Parses one line's nodes (`- - key: value`), rewriting a chart URL on it. */
  #node(content: string, indent: number): string {
    let column = indent;
    let rest = content.slice(indent);
    while (rest === "-" || rest.startsWith("- ")) {
      this.#openItem(column);
      const after = rest.slice(1);
      const spaces = after.length - after.trimStart().length;
      column += 1 + spaces;
      rest = after.trimStart();
      if (rest === "") return content;
    }
    const key = KEY.exec(rest);
    if (!key) {
      // A sequence item's scalar (or a scalar where a node was expected).
      const parent = this.#nodes.at(-1);
      const isUrl = parent?.item === true && this.#isUrlList(this.#nodes.length - 2);
      this.#continuation = { indent: parent?.item ? parent.indent : column - 1, url: isUrl };
      if (!isUrl) return content;
      return content.slice(0, column) + this.#rewriteScalar(rest, false);
    }
    const name = unquote(key[1]!);
    const value = rest.slice(key[0].length);
    this.#openKey(column, name, value.trim() === "" || value.trimStart().startsWith("#"));
    if (value.trim() === "" || value.trimStart().startsWith("#")) return content;
    const depth = this.#nodes.length - 1;
    const valueStart = column + key[0].length;
    if (/^[|>]/.test(value)) {
      this.#continuation = { indent: column, url: false };
      return content;
    }
    if (name === "urls" && this.#isVersion(depth - 1)) {
      if (!value.startsWith("[")) throw new Error("a chart's urls is not a sequence");
      return content.slice(0, valueStart) + this.#rewriteFlowSequence(value);
    }
    this.#continuation = { indent: column, url: false };
    if (name === "digest" && this.#isVersion(depth - 1)) {
      this.#nodes[depth - 1]!.version!.digest = digestOf(scalarValue(value));
    }
    return content;
  }

  #openItem(column: number): void {
    for (let top = this.#nodes.at(-1); top; top = this.#nodes.at(-1)) {
      const keepsOpenKey = top.indent === column && !top.item && top.open;
      if (top.indent < column || keepsOpenKey) break;
      this.#pop();
    }
    const node: Node = { indent: column, item: true, key: null, open: true };
    if (this.#isChart(this.#nodes.length - 1)) node.version = new ChartVersion();
    this.#nodes.push(node);
  }

  #openKey(column: number, key: string, open: boolean): void {
    while (this.#nodes.length > 0 && this.#nodes.at(-1)!.indent >= column) this.#pop();
    this.#nodes.push({ indent: column, item: false, key, open });
  }

  #pop(): void {
    this.#nodes.pop()?.version?.record(this.#findings);
  }

  /** `entries.<chart>`: the key under the root `entries` key. */
  #isChart(depth: number): boolean {
    const node = this.#nodes[depth];
    return depth === 1 && node !== undefined && !node.item && this.#nodes[0]!.key === "entries" && !this.#nodes[0]!.item;
  }

  #isVersion(depth: number): boolean {
    return this.#nodes[depth]?.version !== undefined;
  }

  /** The node at `depth` is `urls` of a chart version. */
  #isUrlList(depth: number): boolean {
    const node = this.#nodes[depth];
    return node !== undefined && !node.item && node.key === "urls" && this.#isVersion(depth - 1);
  }

  #rewriteScalar(text: string, inFlow: boolean): string {
    const { scalar, tail } = splitScalar(text, inFlow);
    if (/^[&*!]/.test(scalar)) throw new Error("a chart URL uses a YAML anchor, alias or tag");
    const value = scalarValue(scalar);
    const { href, link } = proxyHref(value, this.#ctx);
    if (!link) return text;
    const version = this.#nodes.findLast((node) => node.version)?.version;
    version?.links.push(link);
    if (href === value) return text;
    const plain = !/^["']/.test(scalar) && SAFE_PLAIN.test(href) && !href.includes(": ");
    return (plain ? href : JSON.stringify(href)) + tail;
  }

  #rewriteFlowSequence(value: string): string {
    const sequence = parseFlowSequence(value);
    if (!sequence) throw new Error("a chart's urls flow sequence continues over several lines");
    const items = sequence.items.map((item) => {
      const lead = item.length - item.trimStart().length;
      return item.trim() === "" ? item : item.slice(0, lead) + this.#rewriteScalar(item.trimStart(), true);
    });
    return `[${items.join(",")}]${value.slice(sequence.end + 1)}`;
  }
}

/** A scalar and what follows it on the line (spaces, a comment, a flow separator). */
function splitScalar(text: string, inFlow: boolean): { scalar: string; tail: string } {
  if (text.startsWith('"')) {
    const match = /^"(?:[^"\\]|\\.)*"/.exec(text);
    if (!match) throw new Error("a quoted chart URL continues over several lines");
    return { scalar: match[0], tail: text.slice(match[0].length) };
  }
  if (text.startsWith("'")) {
    const match = /^'(?:[^']|'')*'/.exec(text);
    if (!match) throw new Error("a quoted chart URL continues over several lines");
    return { scalar: match[0], tail: text.slice(match[0].length) };
  }
  const end = /\s+#|\s*$/.exec(text)!.index;
  const scalar = text.slice(0, end);
  if (inFlow && /[[\]{},]/.test(scalar)) throw new Error("a chart URL in a flow sequence needs quoting");
  return { scalar, tail: text.slice(end) };
}

/** The value of a scalar as written (plain, 'single' or "double" quoted), comments dropped. */
function scalarValue(text: string): string {
  const { scalar } = splitScalar(text.trim(), false);
  if (scalar.startsWith("'")) return scalar.slice(1, -1).replace(/''/g, "'");
  if (scalar.startsWith('"')) {
    try {
      return JSON.parse(scalar) as string;
    } catch {
      throw new Error("a double-quoted chart URL uses escapes this rewriter does not read");
    }
  }
  return scalar;
}

function unquote(key: string): string {
  return key.startsWith('"') || key.startsWith("'") ? scalarValue(key) : key;
}

/** The items of a flow sequence that closes on this line (`[a, "b"]…`) and where its `]` is, or null. */
function parseFlowSequence(value: string): { items: string[]; end: number } | null {
  const items: string[] = [];
  let quote: string | null = null;
  let start = 1;
  for (let i = 1; i < value.length; i++) {
    const char = value[i];
    if (quote) {
      if (char === "\\" && quote === '"') i++;
      else if (char === quote) quote = null;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === "[" || char === "{") return null;
    else if (char === "," || char === "]") {
      items.push(value.slice(start, i));
      start = i + 1;
      if (char === "]") return { items, end: i };
    }
  }
  return null;
}

export const helm: Provider = {
  type: "helm",
  classify: classifyHelm,
  cacheKey: (path) => path,
  rewriter: {
    rewrites: (path) => /(^|\/)index\.yaml$/.test(path) && !path.startsWith(FOREIGN_PREFIX),
    stream: helmIndexStream,
  },
};
