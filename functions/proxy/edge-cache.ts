import type { BlobStore } from "../../infra/blob/types.ts";
import type { Background } from "../background.ts";
import type { Env } from "../env.ts";
import type { IndexEntry } from "./index-entry.ts";

/** Workers Cache API entries hold up to 512 MB. */
const MAX_CACHED_BYTES = 512 * 1024 * 1024;

/** The URL a blob is kept under: its sha256, so an entry can never be stale. */
const cacheUrl = (sha256: string) => `https://blobs.artifactapi.internal/sha256/${sha256}`;

/**
 * Blobs kept in the Workers Cache API of this data centre by sha256, so a hit there skips the
 * blob store. Content addressing makes that safe; the index lookup and the access checks still
 * run first, so evictions and private remotes apply as always. On with `BLOB_CACHE_API=on`
 * (wrangler.toml sets it for deploys; on workers.dev the Cache API is a no-op).
 */
export class EdgeBlobCache {
  readonly #cache: Cache;
  readonly #blobs: BlobStore;
  readonly #background: Background;

  constructor(cache: Cache, blobs: BlobStore, background: Background) {
    this.#cache = cache;
    this.#blobs = blobs;
    this.#background = background;
  }

  static from(env: Env, blobs: BlobStore, background: Background): EdgeBlobCache | undefined {
    return env.BLOB_CACHE_API === "on" && typeof caches !== "undefined" ? new EdgeBlobCache(caches.default, blobs, background) : undefined;
  }

  /** The whole blob from the cache, or null (then it is put there from the blob store, in the background). */
  async body(entry: IndexEntry): Promise<ReadableStream<Uint8Array> | null> {
    if (entry.size > MAX_CACHED_BYTES) return null;
    const cached = await this.#cache.match(cacheUrl(entry.sha256)).catch(() => undefined);
    if (cached?.body) return cached.body;
    // A second read of the blob store, straight into the cache: no tee, so no buffering for a slow client.
    this.#background.run(this.#remember(entry));
    return null;
  }

  async #remember(entry: IndexEntry): Promise<void> {
    const blob = await this.#blobs.get(entry.blobKey);
    if (!blob?.body) return;
    const headers = { "content-length": String(entry.size), "cache-control": "public, max-age=31536000, immutable" };
    await this.#cache.put(cacheUrl(entry.sha256), new Response(blob.body, { headers }));
  }
}
