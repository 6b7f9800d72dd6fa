import { MIN_PART_SIZE, type BlobStore, type MultipartUpload } from "../../infra/blob/types.ts";
import type { DigestAlgorithm } from "../../providers/types.ts";

export interface StoredBlob {
  key: string;
  sha256: string;
  size: number;
  /** Hex digest in the algorithm asked for with `alsoHash` (npm declares sha512 or sha1). */
  otherDigest?: string;
  /** False when the blob store failed on the way (`bestEffort`): the digests are right, nothing is stored. */
  stored: boolean;
}

/**
 * Bodies above this go up in parts, as aws-cli's default `multipart_threshold` does: S3-compatible
 * servers cap single PUTs (some far below S3's 5 GiB), and a failed part is cheaper than a failed PUT.
 */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;

/**
 * Remembers multipart uploads while they are open, so a sweep can abort the ones whose writer
 * died (a killed worker cannot clean up after itself). Failures to remember are not fatal.
 */
export interface UploadTracker {
  started(key: string, uploadId: string): Promise<void>;
  ended(key: string): Promise<void>;
}

export interface BlobUploadOptions {
  /** The length announced in advance (Content-Length), or null when unknown (chunked). */
  size: number | null;
  /** A second digest to compute besides sha256 (one an index declares). */
  alsoHash?: DigestAlgorithm;
  /**
   * A blob store that fails stops the storing, not the hashing: write() and finish() go on and
   * the result says `stored: false` (the cache fill then serves the bytes uncached). Without
   * it, a store failure rejects write() (an upload must fail when its bytes are not kept).
   */
  bestEffort?: boolean;
  tracker?: UploadTracker;
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
  readonly #bestEffort: boolean;
  readonly #sink: Sink;
  /** Why storing stopped (bestEffort), or null while it goes on. */
  #storeFailure: unknown = null;
  readonly #hashers: DigestStream[];
  readonly #hashWriters: WritableStreamDefaultWriter<BufferSource>[];
  #bytes = 0;

  constructor(blobs: BlobStore, key: string, options: BlobUploadOptions) {
    this.key = key;
    this.#expected = options.size;
    this.#alsoHash = options.alsoHash;
    this.#bestEffort = options.bestEffort ?? false;
    const { size } = options;
    this.#sink = size === null || size > MULTIPART_THRESHOLD ? new MultipartSink(blobs, key, options.tracker) : new SizedSink(blobs, key, size);
    this.#hashers = [new crypto.DigestStream("SHA-256")];
    if (options.alsoHash && options.alsoHash !== "sha256") this.#hashers.push(new crypto.DigestStream(options.alsoHash.replace("sha", "SHA-")));
    this.#hashWriters = this.#hashers.map((hasher) => hasher.getWriter());
    // An aborted upload rejects its digests; they are read only after a successful finish().
    for (const hasher of this.#hashers) hasher.digest.catch(() => {});
  }

  /** Whether the bytes still go to the blob store (false once a bestEffort upload's store failed). */
  get storing(): boolean {
    return this.#storeFailure === null;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#bytes += chunk.byteLength;
    if (this.#expected !== null && this.#bytes > this.#expected) throw new Error(`the body is longer than the announced ${this.#expected} bytes`);
    const stored = this.#storeFailure === null ? this.#store(() => this.#sink.write(chunk)) : undefined;
    await Promise.all([...this.#hashWriters.map((writer) => writer.write(chunk)), stored]);
  }

  /** Completes the upload; rejects (and aborts) when fewer bytes came than announced. */
  async finish(): Promise<StoredBlob> {
    if (this.#expected !== null && this.#bytes !== this.#expected) {
      const error = new Error(`the body ended after ${this.#bytes} of ${this.#expected} bytes`);
      await this.abort(error);
      throw error;
    }
    await Promise.all(this.#hashWriters.map((writer) => writer.close()));
    if (this.#storeFailure === null) await this.#store(() => this.#sink.close());
    const [sha256, other] = await Promise.all(this.#hashers.map(async (hasher) => toHex(await hasher.digest)));
    const otherDigest = this.#alsoHash === "sha256" ? sha256 : other;
    return { key: this.key, sha256: sha256!, size: this.#bytes, otherDigest, stored: this.#storeFailure === null };
  }

  /** A sink step; under bestEffort a failure ends the storing (the partial upload is aborted) instead of the upload. */
  async #store(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (!this.#bestEffort) throw error;
      this.#storeFailure = error;
      console.error(`blob store failed, ${this.key} is served uncached:`, (error as Error).message);
      await this.#sink.abort();
    }
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
    // A write still waiting for a put that already failed would hold abort() forever: whichever ends first.
    const aborted = this.#writer.abort().catch(() => {});
    await Promise.race([aborted, this.#put.then(() => {}, () => {})]);
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
  readonly #tracker?: UploadTracker;
  #upload: MultipartUpload | null = null;
  #parts = 0;
  #buffer = new Uint8Array(MIN_PART_SIZE);
  #filled = 0;

  constructor(blobs: BlobStore, key: string, tracker?: UploadTracker) {
    this.#blobs = blobs;
    this.#key = key;
    this.#tracker = tracker;
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
    await this.#tracker?.ended(this.#key).catch(() => {});
  }

  async abort(): Promise<void> {
    if (!this.#upload) return;
    await this.#upload.abort().catch(() => {});
    await this.#tracker?.ended(this.#key).catch(() => {});
  }

  async #flushPart(): Promise<void> {
    if (!this.#upload) {
      this.#upload = await this.#blobs.createMultipartUpload(this.#key);
      await this.#tracker?.started(this.#key, this.#upload.uploadId).catch(() => {});
    }
    await this.#upload.uploadPart(++this.#parts, this.#buffer.slice(0, this.#filled));
    this.#filled = 0;
  }
}

function toHex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
