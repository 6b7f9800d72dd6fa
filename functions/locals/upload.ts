import { BlobUpload, type StoredBlob, type UploadTracker } from "../storage/blob-upload.ts";
import { newUploadKey } from "../storage/content-address.ts";
import type { DigestAlgorithm } from "../../providers/types.ts";
import type { Stores } from "../stores.ts";

/** Why a body was not kept; the caller answers in its ecosystem's error shape. */
export interface UploadRefused {
  status: 400 | 413;
  code: "BODY_TOO_LARGE" | "UPLOAD_INCOMPLETE" | "BAD_CONTENT_LENGTH" | "MALFORMED";
  message: string;
}

export type Received = { blob: StoredBlob } | { refused: UploadRefused };

/**
 * Streams a request body into the blob store under `uploads/<uuid>`, hashed on the way
 * (BlobUpload: one put up to 8 MiB, multipart above or for chunked bodies, bounded memory).
 * A body over `maxSize` is refused with 413 before any byte is read when Content-Length says so,
 * and as soon as a chunked body passes it; a body cut off mid-way is aborted. In both cases
 * nothing is left behind. The blob stays at its upload key: copying it to its content address
 * is the commit's business (commit.ts), after any check on the bytes.
 *
 * Call it only after the write access check: nothing of the body is read before.
 */
export async function receiveUpload(stores: Pick<Stores, "blobs" | "meta">, request: Pick<Request, "headers" | "body">, maxSize: number): Promise<Received> {
  const header = request.headers.get("content-length");
  if (header !== null && !/^\d+$/.test(header)) return { refused: { status: 400, code: "BAD_CONTENT_LENGTH", message: "Content-Length must be a number of bytes" } };
  const declared = header === null ? null : Number(header);
  return receiveBody(stores, request.body, declared, maxSize);
}

/**
 * receiveUpload for a body that is not a request's own: a part of a multipart form (helm's
 * `chart`), a docker upload chunk. `declared` is its length when known in advance.
 */
export async function receiveBody(stores: Pick<Stores, "blobs" | "meta">, body: ReadableStream<Uint8Array> | null, declared: number | null, maxSize: number): Promise<Received> {
  if (declared !== null && declared > maxSize) return { refused: tooLarge(maxSize) };

  const upload = new BlobUpload(stores.blobs, newUploadKey(), {
    size: declared ?? (body ? null : 0),
    tracker: uploadTracker(stores),
  });
  if (!body) return { blob: await upload.finish() };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (upload.bytes + value.byteLength > maxSize) {
        await Promise.allSettled([upload.abort(), reader.cancel()]);
        return { refused: tooLarge(maxSize) };
      }
      await upload.write(value);
    }
    return { blob: await upload.finish() };
  } catch (error) {
    await Promise.allSettled([upload.abort(error), reader.cancel(error)]);
    return { refused: uploadIncomplete(error) };
  }
}

/**
 * A body a type must hold whole to read it (an npm dist-tag's JSON string), up to `maxSize` bytes:
 * refused with 413 when Content-Length announces more, or as soon as more arrives.
 */
export async function readBody(request: Request, maxSize: number): Promise<{ bytes: Uint8Array } | { refused: UploadRefused }> {
  const header = request.headers.get("content-length");
  if (header !== null && !/^\d+$/.test(header)) return { refused: { status: 400, code: "BAD_CONTENT_LENGTH", message: "Content-Length must be a number of bytes" } };
  if (header !== null && Number(header) > maxSize) return { refused: tooLarge(maxSize) };
  if (!request.body) return { bytes: new Uint8Array(0) };
  try {
    const bytes = await readAtMost(request.body, maxSize);
    return bytes === null ? { refused: tooLarge(maxSize) } : { bytes };
  } catch (error) {
    return { refused: uploadIncomplete(error) };
  }
}

/** A stream read whole, or null (and the stream cancelled) as soon as it passes `maxSize` bytes. */
export async function readAtMost(stream: ReadableStream<Uint8Array>, maxSize: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxSize) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** A multipart upload left open by a killed worker is aborted by the maintenance sweep. */
function uploadTracker(stores: Pick<Stores, "meta">): UploadTracker {
  return { started: (key, id) => stores.meta.uploadStarted(key, id), ended: (key) => stores.meta.uploadEnded(key) };
}

/**
 * An upload to `uploads/<uuid>` of bytes a type decodes itself as its body streams (the tarball
 * inside an npm publish document), tracked as receiveUpload's are: the caller writes, checks its
 * size, and finishes or aborts it; the commit takes it from there.
 */
export function newUpload(stores: Pick<Stores, "blobs" | "meta">, alsoHash?: DigestAlgorithm): BlobUpload {
  return new BlobUpload(stores.blobs, newUploadKey(), { size: null, alsoHash, tracker: uploadTracker(stores) });
}

/** A body that stopped coming (the client went away, a length that did not match). */
export function uploadIncomplete(error: unknown): UploadRefused {
  return { status: 400, code: "UPLOAD_INCOMPLETE", message: `the upload did not arrive whole (${(error as Error).message}); nothing was stored` };
}

export function tooLarge(maxSize: number): UploadRefused {
  return { status: 413, code: "BODY_TOO_LARGE", message: `uploads to this repository are limited to ${maxSize} bytes (max_upload_size)` };
}

/** The hex sha256 a client declared for its upload (`X-Checksum-Sha256`), null when none, "invalid" when malformed. */
export function declaredSha256(request: Request): string | null | "invalid" {
  const value = request.headers.get("x-checksum-sha256")?.trim();
  if (value === undefined) return null;
  return /^[0-9a-f]{64}$/i.test(value) ? value.toLowerCase() : "invalid";
}
