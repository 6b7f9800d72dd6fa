import type { Json, LocalFile } from "../../infra/meta/local-store.ts";
import type { RequestScope } from "../context.ts";
import { jsonError } from "../errors.ts";
import { isFresh, readEntry, type IndexEntry } from "../proxy/index-entry.ts";
import { dispositionFor } from "../proxy/response-headers.ts";
import { serveEntry } from "../proxy/serve.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { contentKey, releaseBlobs } from "../storage/content-address.ts";
import { commitUploads } from "./commit.ts";

/**
 * A local's files as clients read them: the row in Postgres is the truth, the state store keeps
 * a copy of it per path so that a hit costs one state read and one blob read, no SQL. Writes
 * replace or drop the copy; a copy also expires after FILE_TTL_MS, which bounds how long a
 * read racing a delete could keep a stale one. A flushed state store loses nothing.
 */
const FILE_TTL_MS = 10 * 60_000;

export const localFileKey = (local: string, path: string): string => `local:${local}:file:${path}`;

/** What a commit records besides the bytes. */
export interface FileToCommit {
  path: string;
  contentType: string;
  uploadedBy: string;
  package?: string;
  version?: string;
  metadata?: Json;
}

export type Committed = { result: "created" | "replaced"; file: LocalFile } | { result: "exists"; existing: LocalFile };

/**
 * Commits one uploaded blob as a local's file (the generic PUT; package types publish versions
 * with commitUploads and LocalStore.publishVersion). Without `replace` an existing file is
 * kept ("exists"); with it, the old file's blob is released once nothing else needs it.
 */
export async function commitFile(scope: RequestScope, local: string, upload: StoredBlob, file: FileToCommit, options: { replace: boolean }): Promise<Committed> {
  const { stores } = scope;
  const outcome = await commitUploads(stores, [upload], (locked) =>
    locked.insertLocalFile({ local, sha256: upload.sha256, size: upload.size, ...file }, { replace: options.replace }),
  );
  if (!outcome.stored) {
    // Another upload took the path first: these bytes may now belong to nothing.
    await releaseBlobs(stores.blobs, stores.locals, [upload.sha256]);
    return { result: "exists", existing: outcome.previous! };
  }
  await cacheFile(scope, outcome.stored);
  const previous = outcome.previous;
  if (previous && previous.sha256 !== upload.sha256) scope.background.run(releaseBlobs(stores.blobs, stores.locals, [previous.sha256]));
  return { result: previous ? "replaced" : "created", file: outcome.stored };
}

/** Removes a file: the row, its cached copy, and its blob once nothing else has the same bytes. Null when there was no such file. */
export async function deleteFile(scope: RequestScope, local: string, path: string): Promise<LocalFile | null> {
  const { stores } = scope;
  const file = await stores.locals.deleteLocalFile(local, path);
  if (!file) return null;
  await forget(scope, localFileKey(local, path));
  scope.background.run(releaseBlobs(stores.blobs, stores.locals, [file.sha256]));
  return file;
}

/** After rows were removed (an unpublished version): their cached copies go, and their blobs once nothing else has the same bytes. */
export async function forgetFiles(scope: RequestScope, files: LocalFile[]): Promise<void> {
  await Promise.all(files.map((file) => forget(scope, localFileKey(file.local, file.path))));
  scope.background.run(releaseBlobs(scope.stores.blobs, scope.stores.locals, files.map((file) => file.sha256)));
}

/**
 * The file record for a path: the state store's copy, else the row (cached for the next read).
 * Null when the local has no such file.
 */
export async function findFile(scope: RequestScope, local: string, path: string): Promise<IndexEntry | null> {
  // A state store that is down only costs the query: Postgres has the truth.
  const cached = await readEntry(scope.stores.state, localFileKey(local, path)).catch(() => null);
  if (cached && isFresh(cached)) return cached;
  const file = await scope.stores.locals.getLocalFile(local, path);
  if (!file) return null;
  const entry = entryOf(file);
  scope.background.run(scope.stores.state.set(localFileKey(local, path), JSON.stringify(entry), FILE_TTL_MS));
  return entry;
}

/**
 * Every answer with a local file's bytes is built here, by the same builder as a cached file's
 * (serve.ts: ETag = sha256, Range → 206, conditional → 304, Content-Type / -Length /
 * -Disposition, Last-Modified). Null when the local has no such file.
 */
export async function serveLocalFile(scope: RequestScope, local: string, path: string, request: Request): Promise<Response | null> {
  const entry = await findFile(scope, local, path);
  if (!entry) return null;
  const served = await serveEntry(scope.stores.blobs, entry, request, { source: "local", disposition: dispositionFor(path) });
  if (served) return served;
  console.error(`local '${local}': the bytes of '${path}' (sha256 ${entry.sha256}) are missing from the blob store`);
  return jsonError(500, "BLOB_MISSING", `${local}: the stored bytes of this file are missing`);
}

/**
 * The state store's copy after a write. The commit has happened by then: a state store that
 * fails here must not turn it into an error (the client would retry a write that succeeded);
 * the copy it may have left expires within FILE_TTL_MS.
 */
async function cacheFile(scope: RequestScope, file: LocalFile): Promise<void> {
  await scope.stores.state
    .set(localFileKey(file.local, file.path), JSON.stringify(entryOf(file)), FILE_TTL_MS)
    .catch((error: Error) => console.error(`local '${file.local}': cached copy of '${file.path}' not updated: ${error.message}`));
}

async function forget(scope: RequestScope, key: string): Promise<void> {
  await scope.stores.state.delete(key).catch((error: Error) => console.error(`cached copy ${key} not dropped: ${error.message}`));
}

function entryOf(file: LocalFile): IndexEntry {
  return {
    blobKey: contentKey(file.sha256),
    sha256: file.sha256,
    size: file.size,
    contentType: file.contentType,
    lastModified: file.uploadedAt.toUTCString(),
    fetchedAt: file.uploadedAt.getTime(),
    freshUntil: Date.now() + FILE_TTL_MS,
  };
}
