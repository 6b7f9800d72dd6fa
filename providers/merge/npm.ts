import { JsonRewriteStream } from "../json-stream.ts";
import { JsonObjectSplitter } from "./json-split.ts";
import { detach, mergeWhole, relinker, routeKey, StreamingMerge, type Answers, type FoundAnswer, type FoundDocument, type MemberBeingRead, type MemberDocument, type Merged, type MergeContext, type MergeStream } from "./members.ts";

/**
 * npm packuments (full, and abbreviated `application/vnd.npm.install-v1+json`) merged for a
 * virtual: `versions` unioned, the first member (in order) winning a version both have;
 * `dist-tags` per tag from the first member that defines it (no `latest` is made up); `time`
 * unioned with `created` the earliest and `modified` the latest (the abbreviated form's top-level
 * `modified` too); other top-level fields from the first member; `_rev` and `_attachments`
 * dropped; tarball URLs through the virtual, each routed to its member; `integrity` and `shasum`
 * untouched. Linear and streaming: versions are written out as they are read, one at a time;
 * what is held is the version names, `time`, `dist-tags` and the other top-level fields.
 */

const SPLIT = ["versions", "time", "dist-tags"];
const DROPPED = new Set(["_rev", "_attachments"]);

/** What one member's packument gave besides its versions, kept only if it had a version. */
interface MemberParts {
  fields: Map<string, string>;
  tags: Map<string, string>;
  time: Map<string, string>;
  modified: string | null;
  hadVersions: boolean;
}

const emptyParts = (): MemberParts => ({ fields: new Map(), tags: new Map(), time: new Map(), modified: null, hadVersions: false });

/** A `time`-style timestamp (raw JSON) as milliseconds, or NaN. */
const millis = (raw: string) => Date.parse(JSON.parse(raw) as string);

/** Keeps the earlier (`sign` -1) or later (+1) of two raw timestamps; an unreadable one never wins. */
function pick(current: string | undefined, candidate: string, sign: 1 | -1): string {
  if (current === undefined) return candidate;
  const a = millis(current);
  const b = millis(candidate);
  return !Number.isNaN(b) && (Number.isNaN(a) || (b - a) * sign > 0) ? candidate : current;
}

interface NpmMember<A extends FoundAnswer> extends MemberBeingRead<A> {
  readonly parts: MemberParts;
}

class NpmMerge<A extends FoundAnswer> extends StreamingMerge<A, NpmMember<A>> {
  readonly #ctx: MergeContext;
  readonly #versions = new Set<string>();
  readonly #fields = new Map<string, string>();
  readonly #tags = new Map<string, string>();
  readonly #time = new Map<string, string>();
  #modified: string | undefined;
  #opened = false;
  #wroteVersion = false;

  constructor(answers: Answers<A>, ctx: MergeContext) {
    super(answers, "document", ctx.mergeLocalsWithRemotes);
    this.#ctx = ctx;
  }

  protected open(answer: A): NpmMember<A> {
    const parts = emptyParts();
    const document = new JsonObjectSplitter(SPLIT, {
      field: (key, raw) => {
        if (key === "modified") parts.modified = raw;
        else if (!DROPPED.has(key) && !SPLIT.includes(key) && !parts.fields.has(key)) parts.fields.set(key, raw);
      },
      child: (parent, key, raw) => {
        if (key === null) return;
        if (parent === "versions") this.#version(key, raw);
        else if (parent === "dist-tags") parts.tags.set(key, raw);
        else parts.time.set(key, detach(raw));
      },
    });
    return { answer, document, parts, relink: relinker(answer.base, this.#ctx) };
  }

  protected ended({ parts }: NpmMember<A>): boolean {
    if (parts.hadVersions) this.#keep(parts);
    return parts.hadVersions;
  }

  protected tail(): string {
    let tail = this.#opened ? "}" : '{"versions":{}';
    tail += `,"dist-tags":${object(this.#tags)}`;
    if (this.#time.size > 0) tail += `,"time":${object(this.#time)}`;
    if (this.#modified !== undefined) tail += `,"modified":${this.#modified}`;
    for (const [key, raw] of this.#fields) tail += `,${JSON.stringify(key)}:${raw}`;
    return `${tail}}`;
  }

  /** One version of the member being read: written out unless an earlier member has it. */
  #version(version: string, raw: string): void {
    const member = this.current();
    member.parts.hadVersions = true;
    if (this.#versions.has(version)) return;
    const routes: string[] = [];
    const scanner = new JsonRewriteStream({
      start: (frames, kind) => kind === "string" && frames.length === 2 && frames[0]!.key === "dist" && frames[1]!.key === "tarball",
      string: (_frames, value) => {
        const { href, route } = member.relink(value);
        if (route) routes.push(routeKey(route));
        return href === value ? undefined : href;
      },
    });
    const rewritten = scanner.write(raw) + scanner.end();
    // A tarball path another member already serves would hand out that member's bytes: left out.
    if (!this.routes.free(routes, member.answer.member)) return;
    this.routes.add(routes, member.answer.member);
    this.#versions.add(version);
    this.out += `${this.#opened ? "" : '{"versions":{'}${this.#wroteVersion ? "," : ""}${JSON.stringify(version)}:${rewritten}`;
    this.#opened = true;
    this.#wroteVersion = true;
  }

  /** A member that had versions: its tags, times and fields where earlier members had none. */
  #keep(parts: MemberParts): void {
    for (const [key, raw] of parts.fields) if (!this.#fields.has(key)) this.#fields.set(key, raw);
    for (const [tag, raw] of parts.tags) if (!this.#tags.has(tag)) this.#tags.set(tag, raw);
    for (const [key, raw] of parts.time) {
      if (key === "created") this.#time.set(key, pick(this.#time.get(key), raw, -1));
      else if (key === "modified") this.#time.set(key, pick(this.#time.get(key), raw, 1));
      else if (!this.#time.has(key)) this.#time.set(key, raw);
    }
    if (parts.modified !== null) this.#modified = pick(this.#modified, parts.modified, 1);
  }
}

function object(entries: ReadonlyMap<string, string>): string {
  let text = "";
  for (const [key, raw] of entries) text += `${text ? "," : ""}${JSON.stringify(key)}:${raw}`;
  return `{${text}}`;
}

/**
 * Starts a streaming packument merge. `answers`: every member's answer, in the virtual's member
 * order; read the documents `next()` names (locals first while they may own the name).
 */
export function npmMergeStream<A extends FoundAnswer>(answers: Answers<A>, ctx: MergeContext): MergeStream<A> {
  return new NpmMerge<A>(answers, ctx);
}

/** The same merge over documents in memory. */
export function mergeNpmPackuments(documents: readonly MemberDocument[], ctx: MergeContext): Merged {
  return mergeWhole(npmMergeStream<FoundDocument>(documents, ctx));
}
