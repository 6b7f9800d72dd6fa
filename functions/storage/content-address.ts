import type { BlobStore } from "../../infra/blob/types.ts";
import type { StoredBlob } from "./blob-upload.ts";

/** Where bytes live once complete: identical files, in any repository, share one blob. */
export const contentKey = (sha256: string) => `blobs/sha256/${sha256}`;

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
