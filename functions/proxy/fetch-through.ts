import type { ProxyContext } from "../context.ts";
import { jsonError } from "../errors.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { fanOut } from "./blob-writer.ts";
import { breakerOpenFor, upstreamAnswered, upstreamFailed } from "./breaker.ts";
import { contentTypeFor } from "./content-type.ts";
import { freshUntil, indexKey, isFresh, lockKey, readEntry, writeEntry, type IndexEntry } from "./index-entry.ts";
import type { FetchPlan, RewrittenDocument } from "./plan.ts";
import { contentDisposition, serveEntry } from "./serve.ts";
import { fetchUpstream, UpstreamError, type UpstreamRequest } from "./upstream.ts";

/** A leader's lease on a key; renewed while its download runs, so a crashed leader blocks others briefly. */
const LEASE_MS = 30_000;
/** How long a request waits for another request's fetch of the same key before giving up. */
const MAX_WAIT_MS = 10 * 60_000;

/** A plan plus the state-store keys derived from it. */
interface Job extends FetchPlan {
  indexKey: string;
  lockKey: string;
}

/**
 * The request path of design.md: answer a fresh hit from storage; otherwise fetch once
 * (fetch lock), stream to the client while storing, and fall back to a stale copy when the
 * upstream fails.
 */
export async function fetchThrough(ctx: ProxyContext, plan: FetchPlan): Promise<Response> {
  const job: Job = { ...plan, indexKey: indexKey(plan.remote.name, plan.cacheKey), lockKey: lockKey(plan.remote.name, plan.cacheKey) };
  const response = await answer(ctx, job);
  const { headers, status } = response;
  const source = status >= 400 ? "error" : headers.has("warning") ? "stale" : headers.get("x-artifact-source") === "remote" ? "remote" : "cache";
  const bytes = job.request.method === "HEAD" ? 0 : Number(headers.get("content-length") ?? 0);
  ctx.observer.served({ remote: job.remote.name, path: job.path, cacheKey: job.cacheKey, source, status, bytes });
  return response;
}

async function answer(ctx: ProxyContext, job: Job): Promise<Response> {
  const entry = await readEntry(ctx.stores.state, job.indexKey);
  if (entry && isFresh(entry)) {
    const hit = await serve(ctx, job, entry);
    if (hit) return hit;
  }
  // A rewritten document's length is only known once it is rewritten: HEAD fills it like GET.
  if (job.request.method === "HEAD" && !entry && !job.rewrite) return headUpstream(ctx, job);
  return fill(ctx, job);
}

async function fill(ctx: ProxyContext, job: Job): Promise<Response> {
  const { state } = ctx.stores;
  const owner = crypto.randomUUID();
  const deadline = Date.now() + MAX_WAIT_MS;
  for (let delay = 25; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    if (await state.acquireLock(job.lockKey, owner, LEASE_MS)) return lead(ctx, job, owner);
    // Another request is fetching this key: wait for its commit rather than fetching again.
    await sleep(delay);
    const entry = await readEntry(state, job.indexKey);
    if (entry && isFresh(entry)) {
      const served = await serve(ctx, job, entry);
      if (served) return served;
    }
  }
  return jsonError(504, "FETCH_WAIT_TIMEOUT", `${job.remote.name}: gave up waiting for another fetch of this file`);
}

async function lead(ctx: ProxyContext, job: Job, owner: string): Promise<Response> {
  const { state } = ctx.stores;
  const release = () => state.releaseLock(job.lockKey, owner);

  // Between our miss and our lock another leader may have committed.
  const current = await readEntry(state, job.indexKey);
  if (current && isFresh(current)) {
    const served = await serve(ctx, job, current);
    if (served) {
      await release();
      return served;
    }
    // Its blob is gone: fetch again, still holding the lock.
  }

  const openFor = await breakerOpenFor(state, job.remote);
  if (openFor > 0) {
    await release();
    const reason = `the upstream is failing; circuit breaker open for ${openFor}s`;
    return (
      (await serveStale(ctx, job, current, reason)) ??
      jsonError(503, "UPSTREAM_CIRCUIT_OPEN", `${job.remote.name}: ${reason}`, { ...job.responseHeaders, "retry-after": String(openFor) })
    );
  }

  const started = Date.now();
  const event = { remote: job.remote.name, path: job.path, cacheKey: job.cacheKey };
  const failed = (reason: string) => ctx.observer.fetchFailed({ ...event, reason });
  const upstreamDown = (reason: string) => ctx.background.run(upstreamFailed(state, job.remote, ctx.observer, reason));
  let upstream: Response;
  try {
    if (current && job.revalidate && (await job.revalidate(current))) {
      await release();
      return refreshed(ctx, job, current);
    }
    job.verify ??= await job.declaredDigest?.();
    ctx.observer.fetchStarted(event);
    upstream = await reach(ctx, job, {
      method: "GET",
      url: job.upstream,
      headers: upstreamHeaders(job, current),
      decodeBody: job.rewrite !== undefined,
    });
  } catch (error) {
    await release();
    if (!(error instanceof UpstreamError)) throw error;
    failed(error.message);
    upstreamDown(error.message);
    return (await serveStale(ctx, job, current, error.message)) ?? jsonError(error.status, error.code, `${job.remote.name}: ${error.message}`, job.responseHeaders);
  }

  const overloaded = upstream.status >= 500 || upstream.status === 429;
  if (overloaded) upstreamDown(`upstream answered ${upstream.status}`);
  else ctx.background.run(upstreamAnswered(state, job.remote, ctx.observer));

  if (upstream.status === 304 && current) {
    await release();
    return refreshed(ctx, job, current);
  }
  // A document may come as 204 with its content in headers (Terraform's X-Terraform-Get).
  if (upstream.status !== 200 && !(upstream.status === 204 && job.rewrite)) {
    await upstream.body?.cancel();
    await release();
    failed(`upstream answered ${upstream.status}`);
    if (upstream.status >= 500) {
      const stale = await serveStale(ctx, job, current, `upstream answered ${upstream.status}`);
      if (stale) return stale;
    }
    return upstreamStatusError(job, upstream);
  }

  const meta = upstreamMeta(job, upstream.headers);
  let body = upstream.body ?? new Blob([]).stream();
  let size = contentLength(upstream.headers);
  if (job.rewrite) {
    let document: RewrittenDocument;
    try {
      document = await job.rewrite(await upstream.text(), upstream.headers);
    } catch (error) {
      await release();
      failed(`document not rewritten: ${(error as Error).message}`);
      const reason = `the upstream document could not be read (${(error as Error).message})`;
      return (await serveStale(ctx, job, current, reason)) ?? jsonError(502, "UPSTREAM_BAD_DOCUMENT", `${job.remote.name}: ${reason}`, job.responseHeaders);
    }
    const rewritten = new TextEncoder().encode(document.body);
    body = new Blob([rewritten]).stream();
    size = rewritten.byteLength;
    meta.contentEncoding = undefined;
    if (document.headers) meta.headers = { ...meta.headers, ...document.headers };
  }
  const renew = setInterval(() => void state.renewLock(job.lockKey, owner, LEASE_MS).catch(() => {}), LEASE_MS / 3);
  const { client, stored } = fanOut(ctx.stores.blobs, body, `uploads/${crypto.randomUUID()}`, size, job.verify?.algorithm);
  const committed = stored.then((blob) => commit(ctx, job, meta, blob));
  ctx.background.run(
    committed
      .then(
        (entry) => ctx.observer.fetchFinished({ ...event, size: entry.size, sha256: entry.sha256, durationMs: Date.now() - started }),
        (error: Error) => failed(error.message),
      )
      .finally(async () => {
        clearInterval(renew);
        await release();
      }),
  );

  if (job.verify || job.rewrite) {
    // Files with a declared digest are checked, and documents rewritten, before anyone gets a byte.
    await client.cancel();
    try {
      return (await serve(ctx, job, await committed, "remote")) ?? jsonError(502, "BLOB_MISSING", "the stored file vanished; retry");
    } catch (error) {
      if (error instanceof DigestMismatch) return jsonError(502, "DIGEST_MISMATCH", `${job.remote.name}: ${error.message}`, job.responseHeaders);
      return jsonError(502, "UPSTREAM_BROKEN", `${job.remote.name}: the upstream transfer failed (${(error as Error).message})`, job.responseHeaders);
    }
  }

  const headers = new Headers({ "content-type": meta.contentType, "x-artifact-source": "remote", ...job.responseHeaders });
  if (size !== null) headers.set("content-length", String(size));
  if (meta.contentEncoding) headers.set("content-encoding", meta.contentEncoding);
  if (meta.lastModified) headers.set("last-modified", meta.lastModified);
  for (const [name, value] of Object.entries(meta.headers ?? {})) headers.set(name, value);
  setDisposition(headers, job);
  return new Response(client, { status: 200, headers, encodeBody: "manual" });
}

class DigestMismatch extends Error {}

/** The upstream confirmed the stored copy: it is fresh for another TTL. */
async function refreshed(ctx: ProxyContext, job: Job, current: IndexEntry): Promise<Response> {
  const revalidated = { ...current, freshUntil: freshUntil(job.kind, ttlOf(job)) };
  await writeEntry(ctx.stores.state, job.indexKey, revalidated);
  return (await serve(ctx, job, revalidated)) ?? jsonError(502, "BLOB_MISSING", "the cached file vanished; retry");
}

/** Makes a complete, verified upload the answer for its key; a failed check deletes it instead. */
async function commit(ctx: ProxyContext, job: Job, meta: ReturnType<typeof upstreamMeta>, blob: StoredBlob): Promise<IndexEntry> {
  if (job.verify && blob.otherDigest !== job.verify.hex) {
    await ctx.stores.blobs.delete(blob.key);
    throw new DigestMismatch(`the file's ${job.verify.algorithm} is ${blob.otherDigest}, the index declares ${job.verify.hex}`);
  }
  const entry: IndexEntry = {
    ...meta,
    blobKey: blob.key,
    sha256: blob.sha256,
    size: blob.size,
    fetchedAt: Date.now(),
    freshUntil: freshUntil(job.kind, ttlOf(job)),
  };
  await writeEntry(ctx.stores.state, job.indexKey, entry);
  ctx.background.run(promote(ctx, job.indexKey, blob));
  ctx.background.run(
    ctx.stores.meta.recordArtifact({
      remote: job.remote.name,
      path: job.path,
      cacheKey: job.cacheKey,
      sha256: blob.sha256,
      size: blob.size,
      contentType: entry.contentType,
      fetchedAt: new Date(entry.fetchedAt),
    }),
  );
  return entry;
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
async function serve(ctx: ProxyContext, job: Job, entry: IndexEntry, source: "cache" | "remote" = "cache", staleBecause?: string): Promise<Response | null> {
  const options = { source, staleBecause, filename: job.disposition === undefined ? filenameOf(job.path) : undefined };
  const served = (await serveEntry(ctx.stores.blobs, entry, job.request, options)) ?? (await followMoved(ctx, job, entry, options));
  if (served) decorate(served.headers, job);
  return served;
}

async function followMoved(ctx: ProxyContext, job: Job, entry: IndexEntry, options: Parameters<typeof serveEntry>[3]): Promise<Response | null> {
  const moved = await readEntry(ctx.stores.state, job.indexKey);
  if (!moved || moved.blobKey === entry.blobKey) return null;
  return serveEntry(ctx.stores.blobs, moved, job.request, options);
}

async function serveStale(ctx: ProxyContext, job: Job, entry: IndexEntry | null, reason: string): Promise<Response | null> {
  return entry ? serve(ctx, job, entry, "cache", reason) : null;
}

/** HEAD for something not cached: ask the upstream's HEAD, don't download the file. */
async function headUpstream(ctx: ProxyContext, job: Job): Promise<Response> {
  try {
    const upstream = await reach(ctx, job, { method: "HEAD", url: job.upstream, headers: upstreamHeaders(job, null) });
    if (upstream.status !== 200) return upstreamStatusError(job, upstream);
    const meta = upstreamMeta(job, upstream.headers);
    const headers = new Headers({ "content-type": meta.contentType, "x-artifact-source": "remote" });
    const size = contentLength(upstream.headers);
    if (size !== null) headers.set("content-length", String(size));
    if (meta.lastModified) headers.set("last-modified", meta.lastModified);
    for (const [name, value] of Object.entries(meta.headers ?? {})) headers.set(name, value);
    decorate(headers, job);
    return new Response(null, { status: 200, headers });
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    return jsonError(error.status, error.code, `${job.remote.name}: ${error.message}`, job.responseHeaders);
  }
}

function decorate(headers: Headers, job: Job): void {
  for (const [name, value] of Object.entries(job.responseHeaders ?? {})) headers.set(name, value);
  if (job.disposition) setDisposition(headers, job);
}

function setDisposition(headers: Headers, job: Job): void {
  if (job.disposition === "none") return;
  const filename = filenameOf(job.path);
  if (filename) headers.set("content-disposition", contentDisposition(job.disposition ?? "attachment", filename));
}

function reach(ctx: ProxyContext, job: Job, request: UpstreamRequest): Promise<Response> {
  return job.upstreamFetch ? job.upstreamFetch(request) : fetchUpstream(job.remote, ctx.env, request);
}

function upstreamHeaders(job: Job, cached: IndexEntry | null): Headers {
  const headers = new Headers(job.upstreamHeaders);
  if (cached?.upstreamEtag) headers.set("if-none-match", cached.upstreamEtag);
  else if (cached?.lastModified) headers.set("if-modified-since", cached.lastModified);
  return headers;
}

function upstreamMeta(job: Job, headers: Headers): Omit<IndexEntry, "blobKey" | "sha256" | "size" | "fetchedAt" | "freshUntil"> {
  const replayed = (job.replayHeaders ?? []).flatMap((name) => {
    const value = headers.get(name);
    return value === null ? [] : [[name, value] as const];
  });
  return {
    contentType: job.contentType ?? contentTypeFor(job.path, headers.get("content-type")),
    contentEncoding: headers.get("content-encoding") ?? undefined,
    upstreamEtag: headers.get("etag") ?? undefined,
    lastModified: headers.get("last-modified") ?? undefined,
    headers: replayed.length > 0 ? Object.fromEntries(replayed) : undefined,
  };
}

function upstreamStatusError(job: Job, upstream: Response): Response {
  const { status } = upstream;
  const remote = job.remote.name;
  const extra = job.responseHeaders;
  if (status === 404 || status === 410) return jsonError(status, "NOT_FOUND", `${remote}: the upstream has no such file (${status})`, extra);
  if (status === 429) {
    const retryAfter = upstream.headers.get("retry-after");
    return jsonError(503, "UPSTREAM_RATE_LIMITED", `${remote}: the upstream is rate limiting`, { ...extra, ...(retryAfter ? { "retry-after": retryAfter } : {}) });
  }
  if (status === 401 || status === 403) {
    return jsonError(502, "UPSTREAM_DENIED", `${remote}: the upstream refused access (${status}); check the remote's auth`, extra);
  }
  return jsonError(502, "UPSTREAM_ERROR", `${remote}: the upstream answered ${status}`, extra);
}

function ttlOf(job: Job): number {
  return job.kind === "immutable" ? job.remote.immutable_ttl : job.remote.mutable_ttl;
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
