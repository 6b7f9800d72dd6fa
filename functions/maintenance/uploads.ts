import type { BlobStore } from "../../infra/blob/types.ts";
import type { MetadataStore } from "../../infra/meta/types.ts";

/** What one sweep of abandoned uploads removed. */
export interface UploadSweep {
  uploadsDeleted: number;
  multipartAborted: number;
}

const PAGE = 1000;

/**
 * Uploads a worker left behind when it was killed mid-fill (or mid-upload): objects under
 * `uploads/` and open multipart uploads older than `before`. Nothing live is that old: a fill
 * or an upload never runs longer than its deadline, and `before` lies beyond it.
 */
export async function sweepUploads(blobs: BlobStore, meta: MetadataStore, before: Date): Promise<UploadSweep> {
  let uploadsDeleted = 0;
  let cursor: string | undefined;
  do {
    const page = await blobs.list("uploads/", { cursor, limit: PAGE });
    for (const object of page.objects) {
      if (object.uploaded >= before) continue;
      await blobs.delete(object.key);
      uploadsDeleted++;
    }
    cursor = page.cursor ?? undefined;
  } while (cursor);

  let multipartAborted = 0;
  for (;;) {
    const open = await meta.openUploadsBefore(before, PAGE);
    for (const upload of open) {
      await blobs.abortMultipartUpload(upload.key, upload.uploadId);
      await meta.uploadEnded(upload.key);
      multipartAborted++;
    }
    if (open.length < PAGE) break;
  }
  return { uploadsDeleted, multipartAborted };
}
