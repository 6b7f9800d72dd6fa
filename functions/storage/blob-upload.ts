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
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;

export interface BlobUploadOptions {
  /** The length announced in advance (Content-Length), or null when unknown (chunked). */
  size: number | null;
  /** A second digest to compute besides sha256 (one an index declares). */
  alsoHash?: DigestAlgorithm;
}

/**
 * One body written into the blob store as it arrives, hashed on the way: a single streaming
 * put for a known, modest length, equal 5 MiB parts of a multipart upload otherwise, so memory
 * stays bounded whatever the size. Used by the cache fill and by uploads to local repositories.
 * `finish()` checks the announced length; `abort()` leaves nothing that looks like a blob.
 */
export class BlobUpload {
  readonly key: string;
  readonly #expected: number | null;
  readonly #alsoHash?: DigestAlgorithm;
  readonly #sink: Sink;
  readonly #hashers: DigestStream[];
  readonly #hashWriters: WritableStreamDefaultWriter<BufferSource>[];
  #bytes = 0;

  constructor(blobs: BlobStore, key: string, options: BlobUploadOptions) {
    this.key = key;
    this.#expected = options.size;
    this.#alsoHash = options.alsoHash;
    const { size } = options;
    this.#sink = size === null || size > MULTIPART_THRESHOLD ? new MultipartSink(blobs, key) : new SizedSink(blobs, key, size);
    this.#hashers = [new crypto.DigestStream("SHA-256")];
    if (options.alsoHash && options.alsoHash !== "sha256") this.#hashers.push(new crypto.DigestStream(options.alsoHash.replace("sha", "SHA-")));
    this.#hashWriters = this.#hashers.map((hasher) => hasher.getWriter());
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#bytes += chunk.byteLength;
    if (this.#expected !== null && this.#bytes > this.#expected) throw new Error(`the body is longer than the announced ${this.#expected} bytes`);
    await Promise.all([...this.#hashWriters.map((writer) => writer.write(chunk)), this.#sink.write(chunk)]);
  }

  /** Completes the upload; rejects (and aborts) when fewer bytes came than announced. */
  async finish(): Promise<StoredBlob> {
    if (this.#expected !== null && this.#bytes !== this.#expected) {
      const error = new Error(`the body ended after ${this.#bytes} of ${this.#expected} bytes`);
      await this.abort(error);
      throw error;
    }
    await Promise.all(this.#hashWriters.map((writer) => writer.close()));
    await this.#sink.close();
    const [sha256, other] = await Promise.all(this.#hashers.map(async (hasher) => toHex(await hasher.digest)));
    return { key: this.key, sha256: sha256!, size: this.#bytes, otherDigest: this.#alsoHash === "sha256" ? sha256 : other };
  }

  async abort(reason?: unknown): Promise<void> {
    await Promise.allSettled([this.#sink.abort(), ...this.#hashWriters.map((writer) => writer.abort(reason))]);
  }
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
