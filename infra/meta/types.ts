/**
 * Metadata store: remotes config (source of truth), artifact metadata.
 * Postgres (Neon in production; real Postgres or PGlite locally) through @neondatabase/serverless.
 */
export interface StoredRemote {
  name: string;
  /** Validated by the caller with the remotes schema; stored as JSON. */
  config: unknown;
}

export interface ArtifactRecord {
  remote: string;
  path: string;
  cacheKey: string;
  sha256: string;
  size: number;
  contentType: string;
  fetchedAt: Date;
}

export interface MetadataStore {
  listRemotes(): Promise<StoredRemote[]>;
  /** Replaces the whole set in one transaction: a config is never half-applied. */
  replaceRemotes(remotes: StoredRemote[]): Promise<void>;
  recordArtifact(record: ArtifactRecord): Promise<void>;
  ping(): Promise<void>;
  /** Queries made so far by this instance (for the benchmark's budget check). */
  readonly queries: number;
  close(): Promise<void>;
}
