import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { assertReachable, DEFAULT_S3_REQUEST_TIMEOUT_SECONDS, noteTimeout } from "../backend-timeout.ts";
import type { BlobListing, BlobObject, BlobRange, BlobStore, MultipartUpload } from "./types.ts";

export interface S3BlobStoreOptions {
  endpoint?: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`): needed by MinIO, Ceph RGW and emulators. */
  forcePathStyle?: boolean;
  /** Longest wait for one request's response (an upload part's included), per attempt. */
  timeoutMs?: number;
}

export class S3BlobStore implements BlobStore {
  readonly kind = "s3" as const;
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(options: S3BlobStoreOptions) {
    this.#bucket = options.bucket;
    this.#client = new S3Client({
      endpoint: options.endpoint,
      region: options.region ?? "auto",
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Default CRC32 checksums would make the SDK read a streamed body to compute a trailer.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      // A hung endpoint fails the request (a miss then streams uncached, a hit refetches) instead of hanging it.
      requestHandler: { requestTimeout: options.timeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_SECONDS * 1000 },
      maxAttempts: 2,
    });
    // After a request timed out, none for a few seconds: each would wait its full timeout.
    this.#client.middlewareStack.add(
      (next) => async (args) => {
        assertReachable("blobs");
        try {
          return await next(args);
        } catch (error) {
          if ((error as Error).name === "TimeoutError") noteTimeout("blobs");
          throw error;
        }
      },
      { step: "initialize", name: "failFastAfterTimeout" },
    );
  }

  async put(key: string, body: ReadableStream<Uint8Array>, size: number): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        // FixedLengthStream: workerd sends it with Content-Length instead of chunked, and aborts
        // the request when the source is shorter or longer than `size`.
        Body: body.pipeThrough(new FixedLengthStream(size)),
        ContentLength: size,
      }),
      // The body arrives at the upstream's pace: the request lasts as long as the download, which
      // the fill bounds itself (upstream_timeout, fill_timeout).
      { requestTimeout: 0 },
    );
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    const client = this.#client;
    const target = { Bucket: this.#bucket, Key: key };
    const { UploadId } = await client.send(new CreateMultipartUploadCommand(target));
    if (!UploadId) throw new Error(`S3 returned no UploadId for ${key}`);
    const parts: CompletedPart[] = [];
    return {
      uploadId: UploadId,
      async uploadPart(partNumber, bytes) {
        const { ETag } = await client.send(
          new UploadPartCommand({ ...target, UploadId, PartNumber: partNumber, Body: bytes, ContentLength: bytes.byteLength }),
        );
        parts.push({ PartNumber: partNumber, ETag });
      },
      async complete() {
        const sorted = parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        await client.send(new CompleteMultipartUploadCommand({ ...target, UploadId, MultipartUpload: { Parts: sorted } }));
      },
      async abort() {
        await client.send(new AbortMultipartUploadCommand({ ...target, UploadId }));
      },
    };
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId }));
    } catch (error) {
      // Already completed, aborted or expired: nothing is left to clean up.
      if (!isNotFound(error) && (error as { name?: string }).name !== "NoSuchUpload") throw error;
    }
  }

  async list(prefix: string, options: { cursor?: string; limit?: number } = {}): Promise<{ objects: BlobListing[]; cursor: string | null }> {
    const page = await this.#client.send(
      new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: options.cursor, MaxKeys: options.limit ?? 1000 }),
    );
    return {
      objects: (page.Contents ?? []).map((object) => ({ key: object.Key!, size: object.Size ?? 0, uploaded: object.LastModified ?? new Date(0) })),
      cursor: page.IsTruncated && page.NextContinuationToken ? page.NextContinuationToken : null,
    };
  }

  async get(key: string, range?: BlobRange): Promise<BlobObject | null> {
    try {
      const result = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
        }),
      );
      if (!result.Body) throw new Error(`S3 returned no body for ${key}`);
      return { size: totalSize(result.ContentRange, result.ContentLength), body: result.Body.transformToWebStream() };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const result = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return { size: result.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    await this.#client.send(
      new CopyObjectCommand({
        Bucket: this.#bucket,
        Key: toKey,
        CopySource: `${this.#bucket}/${encodeURIComponent(fromKey)}`,
      }),
    );
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }

  async ping(): Promise<void> {
    await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
  }

}

/** Size of the whole object: from `Content-Range: bytes a-b/total` on a ranged read. */
function totalSize(contentRange: string | undefined, contentLength: number | undefined): number {
  const total = contentRange?.split("/")[1];
  return total && total !== "*" ? Number(total) : (contentLength ?? 0);
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}
