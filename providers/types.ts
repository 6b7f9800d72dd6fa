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
}

export interface Provider {
  readonly type: string;
  /** Automatic classification of a path (relative to the remote, no leading slash). */
  classify(path: string): Classification;
  /** The cache key: the normalized path plus any request variant that changes the body. */
  cacheKey(path: string, variant: RequestVariant): string;
}
