import type { BlobLockedStore } from "../../infra/meta/local-store.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { contentKey, copyToContentAddress } from "../storage/content-address.ts";
import type { Stores } from "../stores.ts";

/** Copies and checks before giving up when the copied bytes keep vanishing (identical files deleted at that very moment). */
const ATTEMPTS = 3;

/** The uploaded bytes could not be kept at their content address: nothing was committed, the client may retry. */
export class UploadLost extends Error {}

/**
 * The commit every write to a local goes through. The uploads (complete and checked) are copied
 * to their content addresses; then `write` commits the rows in one transaction that holds their
 * blobs' locks, after checking that every blob is still there (a blob deletion, which takes the
 * same locks, may have come between). So a row is only ever committed for bytes that are
 * complete and present, and a file becomes visible only once both are. The uploads are deleted
 * last: a worker killed before leaves them to the maintenance sweep, never a row without bytes.
 */
export async function commitUploads<T>(stores: Pick<Stores, "blobs" | "locals">, uploads: StoredBlob[], write: (locked: BlobLockedStore) => Promise<T>): Promise<T> {
  const sha256s = uploads.map((upload) => upload.sha256);
  for (let attempt = 1; ; attempt++) {
    for (const upload of uploads) await copyToContentAddress(stores.blobs, upload);
    const committed = await stores.locals.withBlobLocks(sha256s, async (locked) => {
      const present = await Promise.all(sha256s.map((sha256) => stores.blobs.head(contentKey(sha256))));
      return present.every((blob) => blob !== null) ? { value: await write(locked) } : null;
    });
    if (committed) {
      await Promise.all(uploads.map((upload) => stores.blobs.delete(upload.key).catch(() => {})));
      return committed.value;
    }
    if (attempt === ATTEMPTS) throw new UploadLost("the uploaded bytes could not be kept at their content address; retry the upload");
  }
}
