import type { BlobStore } from "../../infra/blob/types.ts";
import type { LocalStore } from "../../infra/meta/local-store.ts";
import type { StoredBlob } from "./blob-upload.ts";

/** Where bytes live once complete: identical files, in any repository, share one blob. */
export const contentKey = (sha256: string) => `blobs/sha256/${sha256}`;

/** Where a body is written while it arrives (the maintenance sweep cleans up after a killed worker). */
export const newUploadKey = (): string => `uploads/${crypto.randomUUID()}`;

/**
 * Copies a finished upload (`uploads/<uuid>`) to its content address unless the content is
 * stored already; returns the content key. The caller points its reference (index entry, row)
 * at it and only then deletes the upload, so a worker killed in between leaves a reference
 * that still resolves.
 */
export async function copyToContentAddress(blobs: BlobStore, blob: StoredBlob): Promise<string> {
  const key = contentKey(blob.sha256);
  if (!(await blobs.head(key))) await blobs.copy(blob.key, key);
  return key;
}

const PARALLEL_DELETES = 16;

/**
 * Deletes the content blobs of `sha256s` that no row (cached artifact or local file) refers to
 * any more. The check and the delete happen under the blobs' locks, so a row committed at the
 * same moment (which checks its blob under the same lock) never ends up pointing at nothing.
 * Returns the sha256s whose blobs were deleted.
 */
export async function releaseBlobs(blobs: BlobStore, locals: LocalStore, sha256s: string[]): Promise<string[]> {
  const unique = [...new Set(sha256s)];
  if (unique.length === 0) return [];
  return locals.withBlobLocks(unique, async (locked) => {
    const referenced = await locked.referencedBlobs(unique);
    const unreferenced = unique.filter((sha256) => !referenced.has(sha256));
    for (let i = 0; i < unreferenced.length; i += PARALLEL_DELETES) {
      await Promise.all(unreferenced.slice(i, i + PARALLEL_DELETES).map((sha256) => blobs.delete(contentKey(sha256))));
    }
    return unreferenced;
  });
}
