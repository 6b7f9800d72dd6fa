import { underBaseUrl, withoutTrailingSlash } from "../links.ts";

/**
 * What every merge for a virtual repository shares: the members' answers in, one document whose
 * links point through the virtual out, with a routing table (which member each linked file came
 * from) and the list of members the merge had to go without. Pure: the caller fetches each
 * member's document through that member's own cache and passes the text in.
 */

export type MemberKind = "remote" | "local";

export interface Member {
  readonly name: string;
  readonly kind: MemberKind;
}

/** A member that has the document. Its links point at `base`: the member's own URL on the proxy. */
export interface FoundAnswer {
  readonly member: Member;
  readonly status: "found";
  /** The member's absolute URL on the proxy (its proxyBase), which its rewritten documents point under. */
  readonly base: string;
  /** The document's Content-Type (PyPI pages come as HTML or JSON, whatever was asked). */
  readonly contentType?: string | null;
}

/** 404/410, or the member's rules deny the path: it has nothing here. */
export interface MissingAnswer {
  readonly member: Member;
  readonly status: "missing";
}

/** An error, a timeout, an open breaker: the merge goes on without it and says so. */
export interface FailedAnswer {
  readonly member: Member;
  readonly status: "failed";
  readonly reason: string;
}

/** What one member answered for the document being merged (before its body is read). */
export type MemberAnswer = FoundAnswer | MissingAnswer | FailedAnswer;

export type FoundDocument = FoundAnswer & { readonly body: string };

/** Every member's answer, in the virtual's member order; `A` is what the caller gets back for the documents to read. */
export type Answers<A extends FoundAnswer> = readonly (A | MissingAnswer | FailedAnswer)[];

/** What one member answered, with the document's text when it has one. */
export type MemberDocument = FoundDocument | MissingAnswer | FailedAnswer;

export interface MergeContext {
  /** The virtual's absolute URL on the proxy (as a remote's proxyBase): merged links point under it. */
  virtualBase: string;
  /** The document's path below the repository, percent-encoded: the same under the virtual and its members. */
  path: string;
  /**
   * Off by default: a name that a local member has is served from the locals only, and remote
   * members' versions of it are left out, even higher ones (dependency confusion). True merges them.
   */
  mergeLocalsWithRemotes?: boolean;
}

/** complete: every member that could contribute did; partial: some failed; unavailable: all that could have failed; not-found: none has it. */
export type MergeStatus = "complete" | "partial" | "unavailable" | "not-found";

export interface MergeOutcome {
  status: MergeStatus;
  /** Members whose documents are in the merge, in member order. */
  served: string[];
  /** Members left out because they failed (and could have contributed): `X-Artifact-Partial`. */
  failed: string[];
  /**
   * Remote members left out (or some of their entries) because a local member has the name —
   * or might have it: a local that failed hides the remotes too, so a private name never falls
   * through to a public one while its local is down.
   */
  shadowed: string[];
}

export interface MergeResult {
  /** Path below the virtual (percent-encoded, with its query, no fragment) → the member whose file it is. */
  routes: ReadonlyMap<string, string>;
  outcome: MergeOutcome;
}

export interface Merged extends MergeResult {
  body: string;
}

/**
 * A merge over documents read one after another in pieces, so a large document (a packument, a
 * simple page) is never held whole. The caller asks `next()` which member's document to read,
 * writes it in pieces, ends it, and so on until `next()` says null; then `end()`. Every method
 * returns the merged text that is complete so far.
 */
export interface MergeStream<A extends FoundAnswer = FoundAnswer> {
  /** The member whose document to read next, or null: the merge needs no more (the rest are not read). */
  next(): A | null;
  write(text: string): string;
  /** The current member's document ended. */
  endMember(): string;
  end(): string;
  /** Complete after end(). */
  readonly result: MergeResult;
}

/** A member's document cannot be merged (malformed): the caller may merge again with that member as failed. */
export class MergeError extends Error {
  readonly member: string;

  constructor(member: string, message: string) {
    super(`member '${member}': ${message}`);
    this.name = "MergeError";
    this.member = member;
  }
}

/** A member's document being read in pieces. */
export interface MemberDocumentReader {
  write(text: string): void;
  end(): void;
}

/** The member being read by a streaming merge: its answer, its document's reader and how its links are re-pointed. */
export interface MemberBeingRead<A extends FoundAnswer> {
  readonly answer: A;
  readonly document: MemberDocumentReader;
  readonly relink: (href: string) => Relinked;
}

/**
 * What the streaming merges share: the order members are read in, the routes, the member being
 * read (its errors named after it) and the merged text made so far. A merge says how it reads a
 * member's document (`open`), what a member that ended leaves behind (`ended`, true when the
 * document listed something) and how the merged document ends (`tail`).
 */
export abstract class StreamingMerge<A extends FoundAnswer, M extends MemberBeingRead<A>> implements MergeStream<A> {
  protected readonly reader: MemberReader<A>;
  protected readonly routes = new Routes();
  /** Merged text not yet handed out. */
  protected out = "";
  #member: M | null = null;
  #result: MergeResult | null = null;

  constructor(answers: Answers<A>, ownership: Ownership, mergeLocalsWithRemotes: boolean | undefined) {
    this.reader = new MemberReader(answers, ownership, mergeLocalsWithRemotes);
  }

  protected abstract open(answer: A): M;
  protected abstract ended(member: M): boolean;
  protected abstract tail(outcome: MergeOutcome): string;

  next(): A | null {
    const answer = this.reader.next();
    this.#member = answer ? this.open(answer) : null;
    return answer;
  }

  write(text: string): string {
    const member = this.current();
    this.#named(member, () => member.document.write(text));
    return this.#take();
  }

  endMember(): string {
    const member = this.current();
    this.#named(member, () => member.document.end());
    this.#member = null;
    this.reader.done(this.ended(member));
    return this.#take();
  }

  end(): string {
    this.#result = { routes: this.routes.map, outcome: this.reader.outcome() };
    return this.#take() + this.tail(this.#result.outcome);
  }

  get result(): MergeResult {
    if (!this.#result) throw new Error("the merge has not ended");
    return this.#result;
  }

  protected current(): M {
    if (!this.#member) throw new Error("no member's document is being read: call next()");
    return this.#member;
  }

  #named(member: M, work: () => void): void {
    try {
      work();
    } catch (error) {
      throw new MergeError(member.answer.member.name, (error as Error).message);
    }
  }

  #take(): string {
    const out = this.out;
    this.out = "";
    return out;
  }
}

/** A whole document's JSON, or a MergeError naming its member. */
export function parseMemberJson(found: FoundDocument, what: string): unknown {
  try {
    return JSON.parse(found.body);
  } catch {
    throw new MergeError(found.member.name, `${what} is not JSON`);
  }
}

/** Runs a streaming merge over documents already in memory (small documents, tests). */
export function mergeWhole<A extends FoundDocument>(stream: MergeStream<A>): Merged {
  let body = "";
  for (let found = stream.next(); found; found = stream.next()) body += stream.write(found.body) + stream.endMember();
  body += stream.end();
  return { body, ...stream.result };
}

/**
 * How names decide which documents are read:
 * - "document": the document is one name (a packument, a project page, a module, a repository):
 *   a local member that has entries in it owns the name and remote members are not read;
 * - "entries": the document lists many names (helm's index.yaml): a remote's entries under a name
 *   a local has are left out, the rest merged;
 * - "none": names are not owned (root indexes list names, not versions).
 */
export type Ownership = "document" | "entries" | "none";

/**
 * The order a merge reads members in, and its outcome. Locals are read first when names are
 * owned: whether a remote may contribute depends on what the locals have. First-wins rules still
 * follow member order, because an owned name leaves only locals and an unowned one only remotes.
 */
export class MemberReader<A extends FoundAnswer = FoundAnswer> {
  readonly #answers: readonly MemberAnswer[];
  readonly #ownership: Ownership;
  #queue: A[];
  #remotesQueued: boolean;
  #current: A | null = null;
  readonly #served = new Set<string>();
  readonly #shadowed = new Set<string>();
  #localOwns = false;

  constructor(answers: Answers<A>, ownership: Ownership, mergeLocalsWithRemotes = false) {
    this.#answers = answers;
    this.#ownership = mergeLocalsWithRemotes ? "none" : ownership;
    const found = answers.filter((answer): answer is A => answer.status === "found");
    this.#remotesQueued = this.#ownership === "none";
    this.#queue = this.#remotesQueued ? found : found.filter((answer) => answer.member.kind === "local");
  }

  next(): A | null {
    if (this.#current) throw new Error(`member '${this.#current.member.name}': its document was not ended`);
    if (this.#queue.length === 0 && !this.#remotesQueued) {
      this.#remotesQueued = true;
      const remotes = this.#answers.filter((answer) => answer.member.kind === "remote" && answer.status !== "missing");
      if (this.#ownership === "document" ? this.#localOwns || this.#localFailed() : this.#localFailed()) {
        for (const remote of remotes) this.#shadowed.add(remote.member.name);
      } else {
        this.#queue = remotes.filter((answer): answer is A => answer.status === "found");
      }
    }
    this.#current = this.#queue.shift() ?? null;
    return this.#current;
  }

  /** The current member's document ended; `hadEntries`: it has the name (versions, files, tags). */
  done(hadEntries: boolean): void {
    const current = this.#current;
    if (!current) throw new Error("no member's document is being read");
    this.#current = null;
    if (!hadEntries) return;
    this.#served.add(current.member.name);
    if (current.member.kind === "local") this.#localOwns = true;
  }

  /** Some of a remote member's entries were left out for a name a local has ("entries" ownership). */
  shadow(member: Member): void {
    this.#shadowed.add(member.name);
  }

  get current(): A {
    if (!this.#current) throw new Error("no member's document is being read");
    return this.#current;
  }

  outcome(): MergeOutcome {
    if (this.#current || this.#queue.length > 0 || !this.#remotesQueued) throw new Error("the merge has members left to read");
    const inOrder = (names: Set<string>) => this.#answers.map((answer) => answer.member.name).filter((name) => names.has(name));
    const served = inOrder(this.#served);
    const failed = this.#answers.filter((answer) => answer.status === "failed" && !this.#shadowed.has(answer.member.name)).map((answer) => answer.member.name);
    const status: MergeStatus = served.length > 0 ? (failed.length > 0 ? "partial" : "complete") : failed.length > 0 ? "unavailable" : "not-found";
    return { status, served, failed, shadowed: inOrder(this.#shadowed) };
  }

  #localFailed(): boolean {
    return this.#answers.some((answer) => answer.member.kind === "local" && answer.status === "failed");
  }
}

/**
 * A copy of a string cut from a document piece that does not keep the piece alive (V8 keeps a
 * slice pointing into its parent): for what a streaming merge holds until its end.
 */
export function detach(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** Which member each file path of the merged document goes to. A path belongs to the first member that links it. */
export class Routes {
  readonly #map = new Map<string, string>();

  /** Whether none of these paths already goes to another member (an entry linking one is left out: its bytes would come from the wrong member). */
  free(paths: readonly string[], member: Member): boolean {
    return paths.every((path) => (this.#map.get(path) ?? member.name) === member.name);
  }

  add(paths: readonly string[], member: Member): void {
    for (const path of paths) if (!this.#map.has(path)) this.#map.set(detach(path), member.name);
  }

  get map(): ReadonlyMap<string, string> {
    return this.#map;
  }
}

/** A link of a member's document, pointed through the virtual. */
export interface Relinked {
  href: string;
  /** Where it lands below the virtual (and below the member): path and query; null when it is not under the member. */
  route: { path: string; query: string } | null;
}

/** The route key of a relinked file, and of a file published beside it (PEP 658 `.metadata`). */
export function routeKey(route: { path: string; query: string }, suffix = ""): string {
  return `${route.path}${suffix}${route.query}`;
}

/** A path the URL parser would leave as it is (no escapes, query, spaces or backslashes), and a `#sha256=…`-like fragment. */
const PLAIN_PATH = /^([A-Za-z0-9\-._~!$&'()*+,;=:@/]*)(?:#[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?$/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/**
 * Re-points a member's links at the virtual: a link under the member's base (absolute, or
 * relative to the document) becomes the same path under the virtual's base, written in full;
 * anything else (another host, not http) is left as it was and routed nowhere.
 */
export function relinker(base: string, ctx: MergeContext): (href: string) => Relinked {
  const memberBase = `${withoutTrailingSlash(base)}/`;
  const basePath = new URL(memberBase).pathname;
  const document = new URL(ctx.path, memberBase);
  const virtualBase = withoutTrailingSlash(ctx.virtualBase);
  return (href) => {
    // The common case (every tarball of a packument) without a URL parse: a plain path under the base.
    if (href.startsWith(memberBase)) {
      const rest = href.slice(memberBase.length);
      const path = PLAIN_PATH.exec(rest)?.[1];
      if (path !== undefined && !DOT_SEGMENT.test(path)) return { href: `${virtualBase}/${rest}`, route: { path, query: "" } };
    }
    let url: URL;
    try {
      url = new URL(href.trim(), document);
    } catch {
      return { href, route: null };
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || !underBaseUrl(url, memberBase)) return { href, route: null };
    const path = url.pathname.slice(basePath.length);
    return { href: `${virtualBase}/${path}${url.search}${url.hash}`, route: { path, query: url.search } };
  };
}
