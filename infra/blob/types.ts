/**
 * Blob store: artifact bytes, content-addressed (`blobs/sha256/<hex>`).
 * Adapters stay small (R2 binding, S3 API); the streaming, hashing and multipart
 * decisions live once, in functions/storage/blob-upload.ts.
 */
export interface BlobRange {
  offset: number;
  length: number;
}

export interface BlobObject {
  size: number;
  /** Present unless the object was only HEAD-ed. */
  body: ReadableStream<Uint8Array> | null;
}

export interface MultipartUpload {
  /** The backend's id for the upload, so a sweep can abort it after its writer died. */
  readonly uploadId: string;
  /** Parts are numbered from 1; every part except the last has the same size (>= 5 MiB). */
  uploadPart(partNumber: number, bytes: Uint8Array): Promise<void>;
  complete(): Promise<void>;
  abort(): Promise<void>;
}

/** One object of a listing. */
export interface BlobListing {
  key: string;
  size: number;
  uploaded: Date;
}

export interface BlobStore {
  readonly kind: "r2" | "s3" | "memory";
  /** Stores a stream whose length is known in advance; rejects if the stream is shorter or longer. */
  put(key: string, body: ReadableStream<Uint8Array>, size: number): Promise<void>;
  /** For bodies of unknown length (chunked upstreams). */
  createMultipartUpload(key: string): Promise<MultipartUpload>;
  /** Aborts an upload another writer started (and left behind); an unknown upload is fine. */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  get(key: string, range?: BlobRange): Promise<BlobObject | null>;
  head(key: string): Promise<{ size: number } | null>;
  copy(fromKey: string, toKey: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Objects whose keys start with `prefix`, in key order, a page at a time; `cursor` continues. */
  list(prefix: string, options?: { cursor?: string; limit?: number }): Promise<{ objects: BlobListing[]; cursor: string | null }>;
  /** Cheap liveness check for /api/v2/health. */
  ping(): Promise<void>;
}

/** Smallest part size S3 and R2 accept for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
