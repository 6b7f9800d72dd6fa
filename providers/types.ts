/**
 * A provider knows one package type's URL layout. Providers are pure: path in,
 * decision out; document in, document out. No I/O, so they are unit-tested directly.
 */
export type Mutability = "mutable" | "immutable";

export type Classification =
  | { kind: Mutability; reason: string }
  | { kind: "denied"; reason: string };

/** The part of a client request that may change the body an upstream returns (the query is handled apart: `queryParams`). */
export interface RequestVariant {
  accept: string | null;
}

/** Query parameters that name a different body: all of them, or these names (none: `[]`). */
export type QueryParams = "all" | readonly string[];

export interface Provider {
  readonly type: string;
  /** Automatic classification of a path (relative to the remote, no leading slash). */
  classify(path: string): Classification;
  /** The cache key: the normalized path plus any Accept variant that changes the body. */
  cacheKey(path: string, variant: RequestVariant): string;
  /**
   * The query parameters kept for a path (default: none). The rest are ignored: left out of the
   * cache key and not sent upstream, so the key always names what the upstream was asked.
   */
  queryParams?(path: string): QueryParams;
  /**
   * The Accept header sent upstream for the variant `cacheKey` chose from the client's Accept
   * (never the client's own header); undefined = none is sent.
   */
  upstreamAccept?(path: string, accept: string | null): string | undefined;
  /** Present on types whose index documents carry links that must come back through the proxy. */
  readonly rewriter?: IndexRewriter;
}

export type DigestAlgorithm = "sha1" | "sha256" | "sha384" | "sha512";

/** A digest an index declares for a file: the caller verifies the download against it. */
export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  hex: string;
}

/** What a link mapping needs to know about where the remote lives on both sides. */
export interface LinkContext {
  /** Absolute URL of the remote on the proxy, as configured (PUBLIC_URL, a mapped hostname) or as reached. */
  proxyBase: string;
  /** The remote's base_url. */
  upstreamBase: string;
}

export interface RewriteContext extends LinkContext {
  /** The document's path relative to the remote, percent-encoded; relative links resolve against it. */
  path: string;
  /** The upstream response's Content-Type: one PyPI path may be HTML or JSON. */
  contentType: string | null;
}

/**
 * What rewriting an index declares besides its text. Keys are remote paths as the client will
 * request them: percent-encoded, no leading slash, with the link's query (`?…`) if it has one.
 */
export interface Findings {
  /** File → the digest the index declares for it. */
  readonly digests: Map<string, Digest>;
  /** `_files/…` file → the exact upstream URL the index linked: the only URL fetched for it. */
  readonly links: Map<string, string>;
}

export interface Rewritten extends Findings {
  body: string;
}

/**
 * A rewrite that runs over the document in pieces: text in (split anywhere), rewritten text
 * out, with memory bounded by the longest single token it must hold (a link, a tag), not by
 * the document. Throws on a document it cannot rewrite.
 */
export interface DocumentStream {
  /** The next piece of the document; returns the rewritten text that is complete so far. */
  write(text: string): string;
  /** The end of the document: the rest of the rewritten text. `findings` are complete after it. */
  end(): string;
  readonly findings: Findings;
}

/** Rewrites a response header whose value is a link (Terraform's X-Terraform-Get). */
export type HeaderRewriter = (value: string, ctx: RewriteContext, findings: Findings) => string;

export interface IndexRewriter {
  /** Whether the body at this path is an index to pass through the rewrite. */
  rewrites(path: string): boolean;
  /**
   * Exactly one of the two forms. `stream`: for documents that grow large (packuments, simple
   * pages, index.yaml). `whole`: the document in one piece, for small documents (Terraform, Forge
   * JSON); the caller bounds its size (max_document_size).
   */
  readonly stream?: (ctx: RewriteContext) => DocumentStream;
  readonly whole?: (body: string, ctx: RewriteContext) => Rewritten;
  /** Response headers (lower-case names) whose values are links, with their rewriters. */
  readonly linkHeaders?: Readonly<Record<string, HeaderRewriter>>;
}
