import { MIN_PART_SIZE, type BlobStore, type MultipartUpload } from "../../infra/blob/types.ts";
import type { DigestAlgorithm } from "../../providers/types.ts";

export interface StoredBlob {
  key: string;
  sha256: string;
  size: number;
  /** Hex digest in the algorithm asked for with `alsoHash` (npm declares sha512 or sha1). */
  otherDigest?: string;
}

/**
 * Bodies above this go up in parts, as aws-cli's default `multipart_threshold` does: S3-compatible
 * servers cap single PUTs (some far below S3's 5 GiB), and a failed part is cheaper than a failed PUT.
 */
const MULTIPART_THRESHOLD = 8 * 1024 * 1024;

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
  const sink = size === null || size > MULTIPART_THRESHOLD ? new MultipartSink(blobs, key) : new SizedSink(blobs, key, size);
  const hashers = [new crypto.DigestStream("SHA-256")];
  if (alsoHash && alsoHash !== "sha256") hashers.push(new crypto.DigestStream(alsoHash.replace("sha", "SHA-")));
  const hashWriters = hashers.map((hasher) => hasher.getWriter());
  let clientGone = false;
  const toClient = (chunk: Uint8Array) =>
    clientGone ? undefined : clientWriter.write(chunk).catch(() => void (clientGone = true));

  const stored = (async (): Promise<StoredBlob> => {
    const reader = upstream.getReader();
    let bytes = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        await Promise.all([...hashWriters.map((w) => w.write(value)), sink.write(value), toClient(value)]);
      }
      if (size !== null && bytes !== size) throw new Error(`upstream sent ${bytes} of ${size} bytes`);
      await Promise.all(hashWriters.map((w) => w.close()));
      await sink.close();
      if (!clientGone) await clientWriter.close().catch(() => {});
      const [sha256, other] = await Promise.all(hashers.map(async (hasher) => toHex(await hasher.digest)));
      return { key, sha256: sha256!, size: bytes, otherDigest: alsoHash === "sha256" ? sha256 : other };
    } catch (error) {
      await Promise.allSettled([sink.abort(), clientWriter.abort(error), reader.cancel(error), ...hashWriters.map((w) => w.abort(error))]);
      throw error;
    }
  })();
  return { client: clientPipe.readable, stored };
}

interface Sink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** Leaves nothing behind that could be mistaken for a complete blob. */
  abort(): Promise<void>;
}

/** Known, modest length: one streaming put. */
class SizedSink implements Sink {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #put: Promise<void>;
  readonly #blobs: BlobStore;
  readonly #key: string;

  constructor(blobs: BlobStore, key: string, size: number) {
    // A JS stream: adapters pipe it into their own native FixedLengthStream, and workerd
    // cannot pipe one native transform stream into another.
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    this.#writer = pipe.writable.getWriter();
    this.#put = blobs.put(key, pipe.readable, size);
    this.#put.catch(() => {}); // observed in write/close; never an unhandled rejection
    this.#blobs = blobs;
    this.#key = key;
  }

  write(chunk: Uint8Array): Promise<void> {
    // A put that settles before the body is done has failed; don't wait on a reader that left.
    const putEndedEarly = this.#put.then(() => {
      throw new Error("blob store stopped reading before the end of the body");
    });
    return Promise.race([this.#writer.write(chunk), putEndedEarly]);
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#put;
  }

  async abort(): Promise<void> {
    await this.#writer.abort().catch(() => {});
    await this.#put.catch(() => {});
    await this.#blobs.delete(this.#key).catch(() => {});
  }
}

/**
 * Unknown or large length: equal parts of MIN_PART_SIZE through a multipart upload, or one
 * put if the whole body fits in the first part.
 */
class MultipartSink implements Sink {
  readonly #blobs: BlobStore;
  readonly #key: string;
  #upload: MultipartUpload | null = null;
  #parts = 0;
  #buffer = new Uint8Array(MIN_PART_SIZE);
  #filled = 0;

  constructor(blobs: BlobStore, key: string) {
    this.#blobs = blobs;
    this.#key = key;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const take = Math.min(chunk.byteLength - offset, MIN_PART_SIZE - this.#filled);
      this.#buffer.set(chunk.subarray(offset, offset + take), this.#filled);
      this.#filled += take;
      offset += take;
      if (this.#filled === MIN_PART_SIZE) await this.#flushPart();
    }
  }

  async close(): Promise<void> {
    if (!this.#upload) {
      const body = this.#buffer.slice(0, this.#filled);
      await this.#blobs.put(this.#key, new Blob([body]).stream(), body.byteLength);
      return;
    }
    if (this.#filled > 0) await this.#flushPart();
    await this.#upload.complete();
  }

  async abort(): Promise<void> {
    await this.#upload?.abort().catch(() => {});
  }

  async #flushPart(): Promise<void> {
    this.#upload ??= await this.#blobs.createMultipartUpload(this.#key);
    await this.#upload.uploadPart(++this.#parts, this.#buffer.slice(0, this.#filled));
    this.#filled = 0;
  }
}

function toHex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
