import { decide } from "../../providers/access.ts";
import { providers } from "../../providers/index.ts";
import type { Mutability } from "../../providers/types.ts";
import type { Background } from "../background.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { jsonError } from "../errors.ts";
import type { Stores } from "../stores.ts";
import { fanOut, type StoredBlob } from "./blob-writer.ts";
import { contentTypeFor } from "./content-type.ts";
import { freshUntil, indexKey, isFresh, lockKey, readEntry, writeEntry, type IndexEntry } from "./index-entry.ts";
import { contentDisposition, serveEntry } from "./serve.ts";
import { fetchUpstream, UpstreamError } from "./upstream.ts";

/** A leader's lease on a key; renewed while its download runs, so a crashed leader blocks others briefly. */
const LEASE_MS = 30_000;
/** How long a request waits for another request's fetch of the same key before giving up. */
const MAX_WAIT_MS = 10 * 60_000;

export interface ProxyContext {
  stores: Stores;
  env: Env;
  background: Background;
}

export interface ArtifactRequest {
  remote: RemoteConfig;
  /** Path below the remote, percent-encoded as the client sent it (that is what the upstream gets). */
  rawPath: string;
  /** The same path decoded: what patterns are matched against. */
  path: string;
  search: string;
  request: Request;
}

/**
 * The request path of design.md: decide, answer a fresh hit from storage, otherwise fetch
 * once (fetch lock), stream to the client while storing, and fall back to a stale copy when
 * the upstream fails.
 */
export async function fetchThrough(ctx: ProxyContext, artifact: ArtifactRequest): Promise<Response> {
  const { remote, path, request } = artifact;
  const provider = providers[remote.package]!;
  const decision = decide(remote, provider, path);
  if (decision.kind === "denied") return jsonError(403, "DENIED", `${remote.name}: ${decision.reason}`);

  const key = provider.cacheKey(path, { accept: request.headers.get("accept") });
  const keys = { index: indexKey(remote.name, key), lock: lockKey(remote.name, key), cacheKey: key };
  const entry = await readEntry(ctx.stores.state, keys.index);
  if (entry && isFresh(entry)) {
    const hit = await serve(ctx, artifact, keys.index, entry);
    if (hit) return hit;
  }
  if (request.method === "HEAD" && !entry) return headUpstream(ctx, artifact);
  return fill(ctx, artifact, decision.kind, keys);
}

interface Keys {
  index: string;
  lock: string;
  cacheKey: string;
}

async function fill(ctx: ProxyContext, artifact: ArtifactRequest, kind: Mutability, keys: Keys): Promise<Response> {
  const { state } = ctx.stores;
  const owner = crypto.randomUUID();
  const deadline = Date.now() + MAX_WAIT_MS;
  for (let delay = 25; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    if (await state.acquireLock(keys.lock, owner, LEASE_MS)) return lead(ctx, artifact, kind, keys, owner);
    // Another request is fetching this key: wait for its commit rather than fetching again.
    await sleep(delay);
    const entry = await readEntry(state, keys.index);
    if (entry && isFresh(entry)) {
      const served = await serve(ctx, artifact, keys.index, entry);
      if (served) return served;
    }
  }
  return jsonError(504, "FETCH_WAIT_TIMEOUT", `${artifact.remote.name}: gave up waiting for another fetch of this file`);
}

async function lead(ctx: ProxyContext, artifact: ArtifactRequest, kind: Mutability, keys: Keys, owner: string): Promise<Response> {
  const { state, blobs } = ctx.stores;
  const { remote, request } = artifact;
  const release = () => state.releaseLock(keys.lock, owner);

  // Between our miss and our lock another leader may have committed.
  const current = await readEntry(state, keys.index);
  if (current && isFresh(current)) {
    await release();
    const served = await serve(ctx, artifact, keys.index, current);
    if (served) return served;
  }

  let upstream: Response;
  try {
    upstream = await fetchUpstream(remote, ctx.env, {
      method: "GET",
      path: artifact.rawPath,
      search: artifact.search,
      headers: upstreamHeaders(request, current),
    });
  } catch (error) {
    await release();
    if (!(error instanceof UpstreamError)) throw error;
    return (await serveStale(ctx, artifact, keys.index, current, error.message)) ?? jsonError(error.status, error.code, `${remote.name}: ${error.message}`);
  }

  if (upstream.status === 304 && current) {
    const revalidated = { ...current, freshUntil: freshUntil(kind, ttlOf(remote, kind)) };
    await writeEntry(state, keys.index, revalidated);
    await release();
    return (await serve(ctx, artifact, keys.index, revalidated)) ?? jsonError(502, "BLOB_MISSING", "cached blob vanished");
  }
  if (upstream.status !== 200) {
    await upstream.body?.cancel();
    await release();
    if (upstream.status >= 500) {
      const stale = await serveStale(ctx, artifact, keys.index, current, `upstream answered ${upstream.status}`);
      if (stale) return stale;
    }
    return upstreamStatusError(remote.name, upstream);
  }

  const size = contentLength(upstream.headers);
  const body = upstream.body ?? new Blob([]).stream();
  const { client, stored } = fanOut(blobs, body, `uploads/${crypto.randomUUID()}`, size);
  const renew = setInterval(() => void state.renewLock(keys.lock, owner, LEASE_MS).catch(() => {}), LEASE_MS / 3);
  const meta = upstreamMeta(artifact, upstream.headers);
  ctx.background.run(
    (async () => {
      try {
        const blob = await stored;
        const entry: IndexEntry = { ...meta, blobKey: blob.key, sha256: blob.sha256, size: blob.size, fetchedAt: Date.now(), freshUntil: freshUntil(kind, ttlOf(remote, kind)) };
        await writeEntry(state, keys.index, entry);
        ctx.background.run(promote(ctx, keys.index, blob));
        ctx.background.run(
          ctx.stores.meta.recordArtifact({
            remote: remote.name,
            path: artifact.path,
            cacheKey: keys.cacheKey,
            sha256: blob.sha256,
            size: blob.size,
            contentType: entry.contentType,
            fetchedAt: new Date(entry.fetchedAt),
          }),
        );
      } finally {
        clearInterval(renew);
        await release();
      }
    })(),
  );

  const headers = new Headers({ "content-type": meta.contentType, "x-artifact-source": "remote" });
  if (size !== null) headers.set("content-length", String(size));
  if (meta.contentEncoding) headers.set("content-encoding", meta.contentEncoding);
  if (meta.lastModified) headers.set("last-modified", meta.lastModified);
  const filename = filenameOf(artifact.path);
  if (filename) headers.set("content-disposition", contentDisposition("attachment", filename));
  return new Response(client, { status: 200, headers, encodeBody: "manual" });
}

/**
 * Moves a finished upload to its content address (`blobs/sha256/<hex>`), so identical files
 * share one blob. Runs after the response; until it finishes the entry points at the upload.
 */
async function promote(ctx: ProxyContext, index: string, blob: StoredBlob): Promise<void> {
  const { blobs, state } = ctx.stores;
  const contentKey = `blobs/sha256/${blob.sha256}`;
  if (!(await blobs.head(contentKey))) await blobs.copy(blob.key, contentKey);
  const entry = await readEntry(state, index);
  if (entry?.blobKey === blob.key) await writeEntry(state, index, { ...entry, blobKey: contentKey });
  await blobs.delete(blob.key);
}

/** Serves an entry; if its blob was just promoted away, follows the entry once more. */
async function serve(ctx: ProxyContext, artifact: ArtifactRequest, index: string, entry: IndexEntry, staleBecause?: string): Promise<Response | null> {
  const options = { source: "cache" as const, filename: filenameOf(artifact.path), staleBecause };
  const served = await serveEntry(ctx.stores.blobs, entry, artifact.request, options);
  if (served) return served;
  const moved = await readEntry(ctx.stores.state, index);
  if (!moved || moved.blobKey === entry.blobKey) return null;
  return serveEntry(ctx.stores.blobs, moved, artifact.request, options);
}

async function serveStale(ctx: ProxyContext, artifact: ArtifactRequest, index: string, entry: IndexEntry | null, reason: string): Promise<Response | null> {
  return entry ? serve(ctx, artifact, index, entry, reason) : null;
}

/** HEAD for something not cached: ask the upstream's HEAD, don't download the file. */
async function headUpstream(ctx: ProxyContext, artifact: ArtifactRequest): Promise<Response> {
  const { remote } = artifact;
  try {
    const upstream = await fetchUpstream(remote, ctx.env, {
      method: "HEAD",
      path: artifact.rawPath,
      search: artifact.search,
      headers: upstreamHeaders(artifact.request, null),
    });
    if (upstream.status !== 200) return upstreamStatusError(remote.name, upstream);
    const meta = upstreamMeta(artifact, upstream.headers);
    const headers = new Headers({ "content-type": meta.contentType, "x-artifact-source": "remote" });
    const size = contentLength(upstream.headers);
    if (size !== null) headers.set("content-length", String(size));
    if (meta.lastModified) headers.set("last-modified", meta.lastModified);
    return new Response(null, { status: 200, headers });
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    return jsonError(error.status, error.code, `${remote.name}: ${error.message}`);
  }
}

function upstreamHeaders(request: Request, cached: IndexEntry | null): Headers {
  const headers = new Headers();
  const accept = request.headers.get("accept");
  if (accept) headers.set("accept", accept);
  if (cached?.upstreamEtag) headers.set("if-none-match", cached.upstreamEtag);
  else if (cached?.lastModified) headers.set("if-modified-since", cached.lastModified);
  return headers;
}

function upstreamMeta(artifact: ArtifactRequest, headers: Headers) {
  return {
    contentType: contentTypeFor(artifact.path, headers.get("content-type")),
    contentEncoding: headers.get("content-encoding") ?? undefined,
    upstreamEtag: headers.get("etag") ?? undefined,
    lastModified: headers.get("last-modified") ?? undefined,
  };
}

function upstreamStatusError(remote: string, upstream: Response): Response {
  const status = upstream.status;
  if (status === 404 || status === 410) return jsonError(status, "NOT_FOUND", `${remote}: the upstream has no such file (${status})`);
  if (status === 429) {
    const retryAfter = upstream.headers.get("retry-after");
    return jsonError(503, "UPSTREAM_RATE_LIMITED", `${remote}: the upstream is rate limiting`, retryAfter ? { "retry-after": retryAfter } : undefined);
  }
  if (status === 401 || status === 403) return jsonError(502, "UPSTREAM_DENIED", `${remote}: the upstream refused access (${status}); check the remote's auth`);
  return jsonError(502, "UPSTREAM_ERROR", `${remote}: the upstream answered ${status}`);
}

function ttlOf(remote: RemoteConfig, kind: Mutability): number {
  return kind === "immutable" ? remote.immutable_ttl : remote.mutable_ttl;
}

function contentLength(headers: Headers): number | null {
  const value = headers.get("content-length");
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function filenameOf(path: string): string | undefined {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name || undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
