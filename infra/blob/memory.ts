import type { BlobListing, BlobObject, BlobRange, BlobStore, MultipartUpload } from "./types.ts";

interface Stored {
  bytes: Uint8Array;
  uploaded: Date;
}

/**
 * Blob store in this isolate's memory, for the engine's own fast tests. It passes the contract
 * every adapter passes, including refusing bodies shorter or longer than declared.
 */
export class MemoryBlobStore implements BlobStore {
  readonly kind = "memory" as const;
  readonly #objects = new Map<string, Stored>();
  readonly #uploads = new Map<string, Map<number, Uint8Array>>();

  /** Open multipart uploads (for tests that check nothing was left behind). */
  get openUploads(): number {
    return this.#uploads.size;
  }

  async put(key: string, body: ReadableStream<Uint8Array>, size: number): Promise<void> {
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    if (bytes.byteLength !== size) throw new Error(`put ${key}: the body has ${bytes.byteLength} bytes, ${size} were declared`);
    this.#objects.set(key, { bytes, uploaded: new Date() });
  }

  async createMultipartUpload(key: string): Promise<MultipartUpload> {
    const uploadId = crypto.randomUUID();
    const parts = new Map<number, Uint8Array>();
    this.#uploads.set(uploadId, parts);
    return {
      uploadId,
      uploadPart: async (partNumber, bytes) => {
        if (!this.#uploads.has(uploadId)) throw new Error(`upload ${uploadId} is gone`);
        parts.set(partNumber, bytes.slice());
      },
      complete: async () => {
        if (!this.#uploads.delete(uploadId)) throw new Error(`upload ${uploadId} is gone`);
        const ordered = [...parts].sort(([a], [b]) => a - b).map(([, bytes]) => bytes);
        this.#objects.set(key, { bytes: concat(ordered), uploaded: new Date() });
      },
      abort: async () => void this.#uploads.delete(uploadId),
    };
  }

  async abortMultipartUpload(_key: string, uploadId: string): Promise<void> {
    this.#uploads.delete(uploadId);
  }

  async get(key: string, range?: BlobRange): Promise<BlobObject | null> {
    const stored = this.#objects.get(key);
    if (!stored) return null;
    const bytes = range ? stored.bytes.subarray(range.offset, range.offset + range.length) : stored.bytes;
    return { size: stored.bytes.byteLength, body: new Blob([bytes]).stream() };
  }

  async head(key: string): Promise<{ size: number } | null> {
    const stored = this.#objects.get(key);
    return stored ? { size: stored.bytes.byteLength } : null;
  }

  async copy(fromKey: string, toKey: string): Promise<void> {
    const stored = this.#objects.get(fromKey);
    if (!stored) throw new Error(`copy: source ${fromKey} not found`);
    this.#objects.set(toKey, { bytes: stored.bytes, uploaded: new Date() });
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(key);
  }

  async list(prefix: string, options: { cursor?: string; limit?: number } = {}): Promise<{ objects: BlobListing[]; cursor: string | null }> {
    const limit = options.limit ?? 1000;
    const keys = [...this.#objects.keys()].filter((key) => key.startsWith(prefix) && (options.cursor === undefined || key > options.cursor)).sort();
    const page = keys.slice(0, limit);
    return {
      objects: page.map((key) => ({ key, size: this.#objects.get(key)!.bytes.byteLength, uploaded: this.#objects.get(key)!.uploaded })),
      cursor: keys.length > limit ? page[page.length - 1]! : null,
    };
  }

  async ping(): Promise<void> {}
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
