/**
 * A provider knows one package type's URL layout. Providers are pure: path in,
 * decision out; document in, document out. No I/O, so they are unit-tested directly.
 */
export type Mutability = "mutable" | "immutable";

export type Classification =
  | { kind: Mutability; reason: string }
  | { kind: "denied"; reason: string };

/** The parts of a client request that may change the body an upstream returns. */
export interface RequestVariant {
  accept: string | null;
  /** The request's query string (without `?`): some index endpoints (Forge v3 lists) depend on it. */
  query?: string | null;
}

export interface Provider {
  readonly type: string;
  /** Automatic classification of a path (relative to the remote, no leading slash). */
  classify(path: string): Classification;
  /** The cache key: the normalized path plus any request variant that changes the body. */
  cacheKey(path: string, variant: RequestVariant): string;
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
  /** Absolute URL of the remote on the proxy, from the request's scheme/host incl. X-Forwarded-*. */
  proxyBase: string;
  /** The remote's base_url. */
  upstreamBase: string;
  /**
   * Hosts other than the upstream's own whose files may be fetched through `_files/<host>/…`
   * (remote config plus the provider's `defaultFileHosts`). Nothing else is ever fetched there,
   * so the proxy is not an open proxy.
   */
  fileHosts: readonly string[];
}

export interface RewriteContext extends LinkContext {
  /** The document's path relative to the remote, percent-encoded; relative links resolve against it. */
  path: string;
  /** The upstream response's Content-Type: one PyPI path may be HTML or JSON. */
  contentType: string | null;
}

export interface Rewritten {
  body: string;
  /** Proxied file path (relative to the remote, as the client will request it) → declared digest. */
  digests: Map<string, Digest>;
}

/** Rewrites a response header whose value is a link (Terraform's X-Terraform-Get). */
export type HeaderRewriter = (value: string, ctx: RewriteContext) => string;

export interface IndexRewriter {
  /** Foreign file hosts the type's public upstream is known to use (e.g. files.pythonhosted.org). */
  readonly defaultFileHosts: readonly string[];
  /** Whether the body at this path is an index to buffer and pass through `rewrite`. */
  rewrites(path: string): boolean;
  /** Index text in, index text with every followed link pointing at the proxy out. */
  rewrite(body: string, ctx: RewriteContext): Rewritten;
  /** Response headers (lower-case names) whose values are links, with their rewriters. */
  readonly linkHeaders?: Readonly<Record<string, HeaderRewriter>>;
}
