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
  /** The index entry as committed (JSON): hits are served from it while the state store is down. */
  entry?: unknown;
}

/** A multipart upload that was started and not yet completed or aborted. */
export interface OpenUpload {
  key: string;
  uploadId: string;
  startedAt: Date;
}

/** The two kinds of configured repositories; each has its own table of the same shape. */
export type ConfigKind = "remotes" | "virtuals";

/** A cached object as the management API lists it. */
export interface ArtifactRow extends Omit<ArtifactRecord, "remote"> {
  lastAccess: Date | null;
  hits: number;
}

/** How the web UI's Browse page orders objects: by path, or by size / last access / hits with the path breaking ties. */
export type BrowseSort = "path" | "size" | "last_access" | "hits";

/** The last row of a page: its sort value (for sorts other than path), path and cache key. */
export interface BrowseCursor {
  value?: number | string;
  path: string;
  cacheKey: string;
}

export interface BrowseOptions {
  /** Objects whose path starts with this. */
  prefix: string;
  sort: BrowseSort;
  descending: boolean;
  after?: BrowseCursor;
  limit: number;
}

/** Which cached objects an eviction removes: one path, or every path under a prefix ("" = all). */
export type EvictionTarget = { path: string } | { prefix: string };

/** Counters gathered from many requests, added in one write. */
export interface UsageBatch {
  remotes: ({ remote: string; minute: Date } & UsageTotals)[];
  /** `member`: for a virtual's answers, the member that gave them. */
  artifacts: { remote: string; path: string; cacheKey: string; hour: Date; requests: number; hits: number; bytesServed: number; lastAccess: Date; member?: string }[];
}

export interface UsageTotals {
  requests: number;
  hits: number;
  misses: number;
  errors: number;
  bytesServed: number;
  bytesFetched: number;
  /** Files written to a local repository, and their bytes. */
  uploads: number;
  bytesUploaded: number;
}

/** Usage of every remote summed over one time bucket (the overview's charts). */
export interface UsageBucket extends UsageTotals {
  bucket: Date;
}

export interface UsageReport {
  remotes: ({ remote: string } & UsageTotals)[];
  /** `member`: the member a virtual's path came from last (null for remotes and locals). */
  top: { remote: string; path: string; requests: number; bytesServed: number; member: string | null }[];
  /** A virtual's answers per member that gave them. */
  members: { remote: string; member: string; requests: number; bytesServed: number }[];
}

/** One path served through a virtual, and the member that served it last. */
export interface ServedThrough {
  path: string;
  member: string | null;
  requests: number;
  bytesServed: number;
  lastHour: Date;
}

export interface NewEvent {
  type: string;
  remote?: string;
  data: Record<string, unknown>;
}

export interface StoredEvent extends NewEvent {
  id: number;
  at: Date;
}

export interface MetadataStore {
  listRemotes(): Promise<StoredRemote[]>;
  listConfigs(kind: ConfigKind): Promise<StoredRemote[]>;
  getConfig(kind: ConfigKind, name: string): Promise<StoredRemote | null>;
  /** Create-or-replace; says what happened, and writes nothing when the config is unchanged. */
  putConfig(kind: ConfigKind, item: StoredRemote): Promise<"created" | "updated" | "unchanged">;
  /** True when a row was deleted. */
  deleteConfig(kind: ConfigKind, name: string): Promise<boolean>;
  /** Ordered by path; `after` is the last row of the previous page. */
  listArtifacts(remote: string, options: { prefix: string; after?: { path: string; cacheKey: string }; limit: number }): Promise<ArtifactRow[]>;
  /**
   * A page of objects under a prefix in the Browse page's order (keyset pagination: each sort
   * walks one index of migration 006). The cursor value of a row is `browseValue(row, sort)`.
   */
  browseArtifacts(remote: string, options: BrowseOptions): Promise<ArtifactRow[]>;
  /** The folder names right under `prefix` (a prefix ending in "/", or ""), in path order. */
  artifactFolders(remote: string, prefix: string, limit: number): Promise<string[]>;
  getArtifact(remote: string, cacheKey: string): Promise<ArtifactRow | null>;
  /** Deletes up to `limit` matching rows and returns them. */
  deleteArtifacts(remote: string, target: EvictionTarget, limit: number): Promise<{ cacheKey: string; path: string; sha256: string }[]>;
  /** The subset of `sha256s` that some row (a cached artifact or a local's file) still refers to. */
  referencedBlobs(sha256s: string[]): Promise<Set<string>>;
  /** Objects and bytes cached per remote (every remote that has any). */
  storageByRemote(): Promise<{ remote: string; objects: number; bytes: number }[]>;
  /** A remote's cached paths, least recently used first; with `before`, only those unused since then. */
  leastRecentlyUsed(remote: string, limit: number, before?: Date): Promise<{ path: string; size: number }[]>;
  addUsage(batch: UsageBatch): Promise<void>;
  usageSince(since: Date, topLimit: number): Promise<UsageReport>;
  /** The paths one repository (a virtual) served since then, most requested first, with the member each came from. */
  servedThrough(remote: string, since: Date, limit: number): Promise<ServedThrough[]>;
  /** Objects each remote's retention rules evicted since then (from the event log). */
  retentionEvictionsSince(since: Date): Promise<Map<string, number>>;
  /** All remotes' usage since `since` in buckets of `bucketSeconds`, oldest first; empty buckets are left out. */
  usageSeries(since: Date, bucketSeconds: number): Promise<UsageBucket[]>;
  appendEvents(events: NewEvent[]): Promise<void>;
  /** Events with id > afterId, oldest first. */
  eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]>;
  /** The newest event's id (0 when there is none): where a new live stream starts. */
  lastEventId(): Promise<number>;
  /** Drops usage counters and events older than `before` (stats keep 7 days). */
  prune(before: Date): Promise<void>;
  /**
   * Applies the remotes file in one transaction (a config is never half-applied): the remotes it
   * names are created or replaced and marked as the file's; the file's remotes it no longer names
   * are deleted; remotes created through the management API are left alone. Virtuals the same way,
   * in the same transaction (the file's virtuals it no longer names go before the remotes).
   */
  applyRemotesFile(remotes: StoredRemote[], virtuals?: StoredRemote[]): Promise<void>;
  recordArtifact(record: ArtifactRecord): Promise<void>;
  /** The index entry an artifact was committed with (null when there is none). */
  artifactEntry(remote: string, cacheKey: string): Promise<unknown>;
  /** Open multipart uploads, so a sweep can abort those whose writer died. */
  uploadStarted(key: string, uploadId: string): Promise<void>;
  uploadEnded(key: string): Promise<void>;
  openUploadsBefore(before: Date, limit: number): Promise<OpenUpload[]>;
  ping(): Promise<void>;
  /** Queries made so far by this instance (for the benchmark's budget check). */
  readonly queries: number;
  close(): Promise<void>;
}

/** A row's value of a Browse sort, as its cursor carries it. */
export function browseValue(row: ArtifactRow, sort: BrowseSort): number | string | undefined {
  if (sort === "size") return row.size;
  if (sort === "hits") return row.hits;
  if (sort === "last_access") return (row.lastAccess ?? row.fetchedAt).toISOString();
  return undefined;
}
