import type { BlobLockedStore } from "../../infra/meta/local-store.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { contentKey, moveToContentAddress } from "../storage/content-address.ts";
import type { Stores } from "../stores.ts";

/**
 * The bytes of an upload vanished between their move to the content address and the commit
 * (an identical file was deleted at that moment): nothing was committed, the client retries.
 */
export class UploadLost extends Error {}

/**
 * The commit every write to a local goes through: the uploads (complete, checked) are moved to
 * their content addresses, then `write` commits the rows in one transaction that holds their
 * blobs' locks, after checking that every blob is still there. So a row is only ever committed
 * for complete bytes that are present, and a file becomes visible only once both are.
 */
export async function commitUploads<T>(stores: Pick<Stores, "blobs" | "locals">, uploads: StoredBlob[], write: (locked: BlobLockedStore) => Promise<T>): Promise<T> {
  for (const upload of uploads) await moveToContentAddress(stores.blobs, upload);
  const sha256s = uploads.map((upload) => upload.sha256);
  return stores.locals.withBlobLocks(sha256s, async (locked) => {
    const present = await Promise.all(sha256s.map((sha256) => stores.blobs.head(contentKey(sha256))));
    if (present.some((blob) => blob === null)) throw new UploadLost("the uploaded bytes vanished before they were committed; retry the upload");
    return write(locked);
  });
}
