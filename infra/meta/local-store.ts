/**
 * The local-repository role of the metadata store: the rows that are the source of truth for
 * what teams publish (infra/migrations/005_locals.sql). Bytes are in the blob store at
 * `blobs/sha256/<sha256>`; the state store only caches what is read here.
 *
 * Every package type uses the same four notions: files (every type), and packages, versions
 * and tags (npm, pypi, helm, docker; see the migration for the mapping).
 */
export type Json = Record<string, unknown>;

/** A complete stored file: its row exists only once its bytes are at their content address. */
export interface LocalFile {
  local: string;
  /** Below the local's URL, no leading slash ("dist/app.tar.gz", "left-pad/-/left-pad-1.0.0.tgz"). */
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  /** Who wrote it: "admin" or the name of the write token (auth.ts). */
  uploadedBy: string;
  uploadedAt: Date;
  /** The package and version the file belongs to; null for generic files (and docker blobs' version). */
  package: string | null;
  version: string | null;
  /** Per-file facts an index shows (PyPI requires_python, a docker media type…). */
  metadata: Json;
}

/** A file with its downloads, for the objects browser. */
export interface LocalFileUsage extends LocalFile {
  hits: number;
  lastAccess: Date | null;
}

/** A file about to be committed; the store sets uploadedAt. */
export type NewLocalFile = Omit<LocalFile, "uploadedAt" | "package" | "version" | "metadata"> &
  Partial<Pick<LocalFile, "package" | "version" | "metadata">>;

/** One entry of a folder listing: a file directly in the folder, or a sub-folder (its name ends in "/"). */
export type FolderEntry = { kind: "file"; name: string; file: LocalFile } | { kind: "folder"; name: string };

export interface PackageRecord {
  local: string;
  /** As the type normalises it (PEP 503 for PyPI); the key of its versions, tags and files. */
  name: string;
  /** As first published. */
  displayName: string;
  metadata: Json;
  /** Bumped by every change to the package, its versions or its tags. */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface VersionRecord {
  version: string;
  metadata: Json;
  publishedBy: string;
  publishedAt: Date;
  /** Set once unpublished: the version is gone from indexes but can never be published again. */
  deletedAt: Date | null;
}

/** Everything an index of one package is generated from. */
export interface PackageState {
  package: PackageRecord;
  /** Oldest first, unpublished ones included (deletedAt set). */
  versions: VersionRecord[];
  /** tag → version (npm dist-tags, docker tags). */
  tags: Record<string, string>;
  /** Files of the package's live versions, and (docker) its blobs. */
  files: LocalFile[];
}

export interface NewVersion {
  local: string;
  /** Created on the first publish; later publishes keep its displayName and merge its metadata. */
  package: { name: string; displayName: string; metadata?: Json };
  version: string;
  metadata: Json;
  publishedBy: string;
  /** The version's files (package and version are filled in). */
  files: Omit<NewLocalFile, "package" | "version">[];
  /** Tags to point at this version (npm's `latest`). */
  tags?: Record<string, string>;
  /**
   * An unpublished version may be published again (helm and docker, whose registries allow it);
   * without it a version is published once, ever (npm's and PyPI's rule).
   */
  republish?: boolean;
}

/**
 * What may only happen while holding the locks of the blobs involved (LocalStore.withBlobLocks):
 * writing rows that need a blob, and deciding that a blob no row needs can go.
 */
export interface BlobLockedStore {
  /**
   * Writes a file row. Without `replace`, a file already at that path is kept and `stored` is null
   * (the caller answers 409); with it, the old row is replaced and returned as `previous`.
   */
  insertLocalFile(file: NewLocalFile, options: { replace: boolean }): Promise<{ stored: LocalFile | null; previous: LocalFile | null }>;
  /**
   * Publishes a version with its files and tags in this transaction. "exists" (nothing written)
   * when the version, even an unpublished one, or one of its file paths is already there.
   */
  publishVersion(version: NewVersion): Promise<{ result: "published"; revision: number } | { result: "exists" }>;
  /** The subset of `sha256s` that some row (a cached artifact or a local file) still refers to. */
  referencedBlobs(sha256s: string[]): Promise<Set<string>>;
}

/** One chunk of an upload session: a complete blob under `uploads/`, hashed. */
export interface UploadChunk {
  key: string;
  sha256: string;
  size: number;
}

/** A blob upload spanning requests (docker's POST, PATCH…, PUT ?digest=). */
export interface UploadSession {
  local: string;
  id: string;
  /** The docker repository the blob is pushed to. */
  repository: string;
  startedBy: string;
  /** In order; `size` is their sum, the offset the next chunk starts at. */
  chunks: UploadChunk[];
  size: number;
  startedAt: Date;
  updatedAt: Date;
}

export interface LocalStore {
  getLocalFile(local: string, path: string): Promise<LocalFile | null>;
  /** Every file under `prefix` ("" = all), ordered by path bytewise; `after` is the last path of the previous page. */
  listLocalFiles(local: string, options: { prefix: string; after?: string; limit: number }): Promise<LocalFileUsage[]>;
  /** How many files, and bytes, each local holds (locals with none are left out). */
  filesByLocal(): Promise<{ local: string; files: number; bytes: number }[]>;
  /** What is directly in `folder` ("" or ending in "/"), ordered by name bytewise; `after` is the last name of the previous page. */
  listLocalFolder(local: string, folder: string, options: { after?: string; limit: number }): Promise<FolderEntry[]>;
  /** Removes a file row and returns it (null when there was none); its blob is the caller's to release. */
  deleteLocalFile(local: string, path: string): Promise<LocalFile | null>;
  /**
   * Runs `work` in one transaction that holds a lock per sha256, so that committing a row that
   * needs a blob and deleting a blob that no row needs never interleave (uploads and the cache
   * share blobs). Keep `work` short: Postgres queries and blob HEADs or deletes, no uploads.
   */
  withBlobLocks<T>(sha256s: string[], work: (locked: BlobLockedStore) => Promise<T>): Promise<T>;
  readPackage(local: string, name: string): Promise<PackageState | null>;
  /** Packages with at least one live version, by name. */
  listPackages(local: string): Promise<PackageRecord[]>;
  /** Points a tag at a live version; false when there is no such version. */
  setTag(local: string, packageName: string, tag: string, version: string): Promise<boolean>;
  /** False when there was no such tag. */
  deleteTag(local: string, packageName: string, tag: string): Promise<boolean>;
  /** Replaces a live version's metadata (npm deprecate); false when there is no such version. */
  setVersionMetadata(local: string, packageName: string, version: string, metadata: Json): Promise<boolean>;
  /**
   * Unpublishes a version: marks it deleted (it can never be published again), drops the tags
   * that pointed at it and its file rows, and returns those files (null: no such live version).
   */
  unpublishVersion(local: string, packageName: string, version: string): Promise<LocalFile[] | null>;
  startUploadSession(session: Pick<UploadSession, "local" | "id" | "repository" | "startedBy">): Promise<UploadSession>;
  getUploadSession(local: string, id: string): Promise<UploadSession | null>;
  /**
   * Appends a chunk if the session still ends at `offset` (two writers of one session cannot
   * both append at the same place); null when the session is gone or has moved on.
   */
  appendUploadChunk(local: string, id: string, offset: number, chunk: UploadChunk): Promise<UploadSession | null>;
  /** Removes a session and returns it (null when there was none); its chunks are the caller's to delete. */
  endUploadSession(local: string, id: string): Promise<UploadSession | null>;
  /** Removes sessions nobody wrote to since `before` (their chunks are older still: the uploads sweep takes them); how many. */
  sweepUploadSessions(before: Date): Promise<number>;
}
