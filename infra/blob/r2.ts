import type { BlobListing, BlobObject, BlobRange, BlobStore, MultipartUpload } from "./types.ts";

/** Key HEAD-ed by ping(); it need not exist, the call only has to succeed. */
const PING_KEY = "health/ping";

export class R2BlobStore implements BlobStore {
  readonly kind = "r2" as const;

  private readonly bucket: R2Bucket;

  constructor(bucket: R2Bucket) {
    this.bucket = bucket;
  }

  async put(key: string, body: ReadableStream<Uint8Array>, size: number): Promise<void> {
    // R2 only accepts streams of known length; FixedLengthStream also errors the upload when the
    // source ends early or runs long, so a truncated body never becomes an object.
    await this.bucket.put(key, body.pipeThrough(new FixedLengthStream(size)));
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    const upload = await this.bucket.createMultipartUpload(key);
    const parts: R2UploadedPart[] = [];
    return {
      uploadId: upload.uploadId,
      async uploadPart(partNumber, bytes) {
        parts.push(await upload.uploadPart(partNumber, bytes));
      },
      async complete() {
        await upload.complete(parts.sort((a, b) => a.partNumber - b.partNumber));
      },
      async abort() {
        await upload.abort();
      },
    };
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.bucket
      .resumeMultipartUpload(key, uploadId)
      .abort()
      .catch((error: Error) => {
        // Already completed, aborted or expired: nothing is left to clean up.
        if (!/NoSuchUpload|not found|does not exist/i.test(error.message)) throw error;
      });
  }

  async list(prefix: string, options: { cursor?: string; limit?: number } = {}): Promise<{ objects: BlobListing[]; cursor: string | null }> {
    const page = await this.bucket.list({ prefix, cursor: options.cursor, limit: options.limit ?? 1000 });
    return {
      objects: page.objects.map((object) => ({ key: object.key, size: object.size, uploaded: object.uploaded })),
      cursor: page.truncated ? page.cursor : null,
    };
  }

  async get(key: string, range?: BlobRange): Promise<BlobObject | null> {
    const object = await this.bucket.get(key, range ? { range } : undefined);
    return object ? { size: object.size, body: object.body } : null;
  }

  async head(key: string): Promise<{ size: number } | null> {
    const object = await this.bucket.head(key);
    return object ? { size: object.size } : null;
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    // R2 has no server-side copy: stream the object through this isolate.
    const source = await this.bucket.get(fromKey);
    if (!source) throw new Error(`copy: source ${fromKey} not found`);
    await this.put(toKey, source.body, source.size);
  }

  async delete(key: string): Promise<void> {
    await this.bucket.delete(key);
  }

  async ping(): Promise<void> {
    await this.bucket.head(PING_KEY);
  }
}
