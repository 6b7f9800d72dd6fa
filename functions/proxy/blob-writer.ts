import type { BlobStore } from "../../infra/blob/types.ts";
import type { DigestAlgorithm } from "../../providers/types.ts";
import { BlobUpload, type StoredBlob } from "../storage/blob-upload.ts";

export interface FanOut {
  /** The body to send to the client; it errors (so the client sees a failed transfer) if the upstream breaks. */
  client: ReadableStream<Uint8Array>;
  /** Resolves once every byte is stored and hashed; rejects on a short or broken upstream body. */
  stored: Promise<StoredBlob>;
}

/**
 * Streams the upstream body to the client and into the blob store at once, hashing as it
 * goes. Chunks move in lockstep (each is written to both sides before the next is read),
 * so memory stays bounded whichever side is slower. If the client goes away the fill goes
 * on, so the next request is a hit.
 */
export function fanOut(
  blobs: BlobStore,
  upstream: ReadableStream<Uint8Array>,
  key: string,
  size: number | null,
  alsoHash?: DigestAlgorithm,
): FanOut {
  const clientPipe = size === null ? new IdentityTransformStream() : new FixedLengthStream(size);
  const clientWriter = clientPipe.writable.getWriter();
  const upload = new BlobUpload(blobs, key, { size, alsoHash });
  let clientGone = false;
  const toClient = (chunk: Uint8Array) =>
    clientGone ? undefined : clientWriter.write(chunk).catch(() => void (clientGone = true));

  const stored = (async (): Promise<StoredBlob> => {
    const reader = upstream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await Promise.all([upload.write(value), toClient(value)]);
      }
      const blob = await upload.finish();
      if (!clientGone) await clientWriter.close().catch(() => {});
      return blob;
    } catch (error) {
      await Promise.allSettled([upload.abort(error), clientWriter.abort(error), reader.cancel(error)]);
      throw error;
    }
  })();
  return { client: clientPipe.readable, stored };
}
