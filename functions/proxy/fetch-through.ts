import { isUnavailable } from "../../infra/unavailable.ts";
import type { ProxyContext } from "../context.ts";
import { jsonError } from "../errors.ts";
import type { FetchEvent } from "../observe.ts";
import { breakerOpenFor, upstreamAnswered, upstreamFailed } from "./breaker.ts";
import { promote, restoreFromRecord, writeIfNewer, type CommitTarget } from "./commit.ts";
import { contentTypeFor } from "./content-type.ts";
import { EdgeBlobCache } from "./edge-cache.ts";
import { DocumentRefused } from "./document-rewrite.ts";
import { Fill, FillFailed } from "./fill.ts";
import { coordinatorFor, insideCoordinator, runningFills } from "./coordination.ts";
import { forgetEntry, hotEntry, keepEntry } from "./hot-entries.ts";
import { rememberHotRoute } from "./hot-route.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { entryTtlMs, freshUntil, indexKey, isFresh, lockKey, parseEntry, readStoredEntry, type IndexEntry, type StoredEntry } from "./index-entry.ts";
import { withLease, type Lease } from "./lease.ts";
import type { FetchPlan } from "./plan.ts";
import { dispositionFor, representationHeaders, type HeaderOptions, type Representation } from "./response-headers.ts";
import { parseRange, serveEntry } from "./serve.ts";
import { UpstreamError } from "./upstream.ts";

/**
 * A leader's lease on a key, renewed every third of it from the moment it is taken: how long a
 * leader that died blocks its key. `FETCH_LEASE_SECONDS` changes it (tests make it short).
 */
const DEFAULT_LEASE_SECONDS = 30;

function leaseMs(ctx: ProxyContext): number {
  const seconds = Number(ctx.env.FETCH_LEASE_SECONDS ?? DEFAULT_LEASE_SECONDS);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_LEASE_SECONDS) * 1000;
}
/** Waiters poll for the leader's commit with a backoff between these. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1_000;

/** A plan plus what is derived from it once. */
interface Job extends FetchPlan, CommitTarget {
  lockKey: string;
  /** Content-Disposition, decided once for hit, miss and HEAD. */
  dispositionHeader?: string;
  event: FetchEvent;
}

/** What a miss's upstream answered that is worth storing. */
interface Fetched {
  response: Response;
  /** When the upstream answered: orders commits, so a slower leader never overwrites a newer entry. */
  fetchedAt: number;
}

type Respond = (response: Response) => void;

/** What the upstream's headers say about the body, and its validator for revalidation. */
type UpstreamRepresentation = Representation & { etag?: string };

/** The body a miss copies, with what describes it. */
interface Source {
  body: ReadableStream<Uint8Array>;
  representation: UpstreamRepresentation;
  fetchedAt: number;
  /** The upstream's response headers. */
  answer: Headers;
}

/**
 * The request path of design.md: answer a fresh hit from storage; otherwise one request (the
 * leader, under a lease) fetches and stores while the others wait for its commit, and a stale
 * copy answers when the upstream fails.
 */
export async function fetchThrough(ctx: ProxyContext, plan: FetchPlan): Promise<Response> {
  const job: Job = {
    ...plan,
    remoteName: plan.remote.name,
    indexKey: indexKey(plan.remote.name, plan.cacheKey),
    lockKey: lockKey(plan.remote.name, plan.cacheKey),
    dispositionHeader: dispositionFor(plan.path, plan.disposition),
    event: { remote: plan.remote.name, path: plan.path, cacheKey: plan.cacheKey },
  };
  const { hit, stored } = await fromStorage(ctx, job);
  if (hit) {
    if (job.hotRoute && hit.status === 200) {
      rememberHotRoute(job.hotRoute, { remote: job.remote, indexKey: job.indexKey, event: job.event, headers: hitHeaderOptions(job) });
    }
    return recorded(ctx, job, hit);
  }
  // A rewritten document's length is only known once it is rewritten: HEAD fills it like GET.
  if (job.request.method === "HEAD" && !stored && !job.rewriteBody) return recorded(ctx, job, await headUpstream(ctx, job));
  // With a coordinator, the miss is its business (and its record): requests for the key meet there.
  const coordinator = coordinatorFor(ctx.env);
  if (coordinator) return coordinator.get(coordinator.idFromName(job.indexKey)).fetch(job.request);
  return recorded(ctx, job, await miss(ctx, job, stored));
}

function recorded(ctx: ProxyContext, job: Job, response: Response): Response {
  const { headers, status } = response;
  const source = status >= 400 ? "error" : headers.has("warning") ? "stale" : headers.get("x-artifact-source") === "remote" ? "remote" : "cache";
  const bytes = job.request.method === "HEAD" ? 0 : Number(headers.get("content-length") ?? 0);
  ctx.observer.served({ ...job.event, source, status, bytes });
  return response;
}

/** A fresh copy from storage (the isolate's hot entries, else the state store), and the entry seen. */
async function fromStorage(ctx: ProxyContext, job: Job): Promise<{ hit: Response | null; stored: StoredEntry | null }> {
  const hot = hotEntry(job.indexKey);
  if (hot) {
    const hit = await serve(ctx, job, hot);
    if (hit) return { hit, stored: null };
    forgetEntry(job.indexKey);
  }
  const stored = await readStored(ctx, job);
  if (stored && isFresh(stored.entry)) {
    const hit = await serve(ctx, job, stored.entry);
    if (hit) keepEntry(job.indexKey, stored.entry);
    if (hit) return { hit, stored };
  }
  return { hit: null, stored };
}

/**
 * Leads the refresh if the key is free; otherwise waits (with a backoff) for the leader's
 * commit — any commit made after this request arrived answers it, fresh or not, so
 * `mutable_ttl: 0` does not turn concurrent requests into one fetch after another. A waiter
 * with a stale copy serves it after `stale_wait`; a leader that stopped (its lease lapsed, or it
 * gave up on a stalled upstream and released it) is replaced by the next waiter.
 */
async function miss(ctx: ProxyContext, job: Job, seen: StoredEntry | null): Promise<Response> {
  const arrived = Date.now();
  for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
    const led = joinRunning(ctx, job) ?? (await lead(ctx, job));
    if (led) return led;
    await (insideCoordinator(ctx.env) ? runningFills.started(job.indexKey, delay) : sleep(delay));
    // At once, before any other await: a fast upstream moves the fill past its window meanwhile.
    const joined = joinRunning(ctx, job);
    if (joined) return joined;
    const now = await readStored(ctx, job);
    if (now && now.raw !== seen?.raw) {
      const committed = await serve(ctx, job, now.entry);
      if (committed) return committed;
    }
    const waited = Date.now() - arrived;
    if (seen && waited >= job.remote.stale_wait * 1000) {
      const stale = await serveStale(ctx, job, seen, "another request is refreshing it");
      if (stale) return stale;
    }
    if (waited >= job.remote.fill_timeout * 1000) {
      return jsonError(504, "FETCH_WAIT_TIMEOUT", `${job.remote.name}: gave up waiting for another fetch of this file`, job.responseHeaders);
    }
  }
}

/**
 * Takes the fetch lock if it is free and refreshes the key under it; null when another request
 * holds it. The client is answered as soon as there is an answer (the first bytes of a miss);
 * the lease is held until the copy is stored.
 */
async function lead(ctx: ProxyContext, job: Job): Promise<Response | null> {
  let respond!: Respond;
  const answered = new Promise<Response>((resolve) => (respond = resolve));
  const leased = withLease(ctx.stores.state, job.lockKey, leaseMs(ctx), async (lease) => {
    try {
      await refresh(ctx, job, lease, respond);
    } finally {
      // A no-op once answered; otherwise the refresh failed unexpectedly (logged by the background run).
      respond(jsonError(502, "FETCH_FAILED", `${job.remote.name}: the fetch failed unexpectedly`, job.responseHeaders));
    }
  });
  ctx.background.run(leased);
  const first = await Promise.race([answered, leased]);
  if (first instanceof Response) return first;
  return first.held ? answered : null;
}

/** The leader's steps: already fresh? breaker, ask the upstream, store and serve. */
async function refresh(ctx: ProxyContext, job: Job, lease: Lease, respond: Respond): Promise<void> {
  // Between our miss and our lease another leader may have committed; an entry the state store
  // dropped (expired, flushed) comes back from its metadata record.
  const current = (await readStored(ctx, job)) ?? (await restoreFromRecord(ctx, job));
  const done =
    (current && isFresh(current.entry) ? await serve(ctx, job, current.entry) : null) ??
    (await rememberedAbsence(ctx, job)) ??
    (await breakerAnswer(ctx, job, current));
  if (done) return respond(done);
  const fetched = await askUpstream(ctx, job, lease, current);
  if (fetched instanceof Response) return respond(fetched);
  await store(ctx, job, lease, current, fetched, respond);
}

/** An upstream 404/410 is remembered for negative_ttl: asking again would only cost the upstream a request. */
const absentKey = (job: Job) => `absent:${job.remoteName}:${job.cacheKey}`;

function negativeTtlMs(job: Job): number {
  const { negative_ttl, mutable_ttl } = job.remote;
  return (job.kind === "mutable" ? Math.min(negative_ttl, mutable_ttl) : negative_ttl) * 1000;
}

async function rememberedAbsence(ctx: ProxyContext, job: Job): Promise<Response | null> {
  if (negativeTtlMs(job) === 0) return null;
  const status = Number(await ctx.stores.state.get(absentKey(job)).catch(() => null));
  return status === 404 || status === 410 ? jsonError(status, "NOT_FOUND", `${job.remote.name}: the upstream has no such file (${status}, remembered)`, job.responseHeaders) : null;
}

async function breakerAnswer(ctx: ProxyContext, job: Job, current: StoredEntry | null): Promise<Response | null> {
  const openFor = await breakerOpenFor(ctx.stores.state, job.remote).catch(() => 0);
  if (openFor === 0) return null;
  const reason = `the upstream is failing; circuit breaker open for ${openFor}s`;
  return (
    (await serveStale(ctx, job, current, reason)) ??
    jsonError(503, "UPSTREAM_CIRCUIT_OPEN", `${job.remote.name}: ${reason}`, { ...job.responseHeaders, "retry-after": String(openFor) })
  );
}

/**
 * Asks the upstream about the key: a Response ends the request (an error, the stale copy, the
 * stored copy confirmed by a 304 or a cheaper revalidation); otherwise the body to store.
 */
async function askUpstream(ctx: ProxyContext, job: Job, lease: Lease, current: StoredEntry | null): Promise<Response | Fetched> {
  try {
    let conditional = current;
    if (current && job.upstream.revalidate && (await job.upstream.revalidate(current.entry))) {
      const confirmed = await refreshed(ctx, job, current);
      if (confirmed) return confirmed;
      conditional = null; // confirmed, but its blob cannot be read: the whole file is fetched again
    }
    job.verify ??= await job.upstream.declaredDigest?.();
    ctx.observer.fetchStarted(job.event);
    // A 304 for a copy whose blob cannot be read (the blob store failing, the blob gone) is asked again, unconditionally.
    const answer = (await fetchAndJudge(ctx, job, lease, current, conditional)) ?? (conditional && (await fetchAndJudge(ctx, job, lease, current, null)));
    return answer ?? jsonError(502, "BLOB_MISSING", `${job.remote.name}: the cached file cannot be read and the upstream only confirms it; retry`, job.responseHeaders);
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    ctx.observer.fetchFailed({ ...job.event, reason: error.message });
    if (error.upstreamFault) noteFailure(ctx, job, error.message);
    return (await serveStale(ctx, job, current, error.message)) ?? jsonError(error.status, error.code, `${job.remote.name}: ${error.message}`, job.responseHeaders);
  }
}

/** One GET (conditional on `conditional`'s validators), judged; null for a 304 whose stored copy cannot be served. */
async function fetchAndJudge(ctx: ProxyContext, job: Job, lease: Lease, current: StoredEntry | null, conditional: StoredEntry | null): Promise<Response | Fetched | null> {
  const response = await job.upstream.fetch({ method: "GET", headers: conditionalHeaders(conditional?.entry), signal: lease.signal });
  return judge(ctx, job, current, { response, fetchedAt: Date.now() });
}

/** The upstream's status decides: store a 200, refresh on a 304, else an error (the stale copy when the upstream itself failed). */
async function judge(ctx: ProxyContext, job: Job, current: StoredEntry | null, fetched: Fetched): Promise<Response | Fetched | null> {
  const { status } = fetched.response;
  const upstreamFault = status >= 500 || status === 429;
  if (upstreamFault) noteFailure(ctx, job, `upstream answered ${status}`);
  // With the state store down there is no breaker to close: nothing to report.
  else ctx.background.run(upstreamAnswered(ctx.stores.state, job.remote, ctx.observer).catch(ignoreUnavailable));
  // A document may come as 204 with its content in headers (Terraform's X-Terraform-Get).
  if (status === 200 || (status === 204 && job.rewriteBody)) return fetched;
  await fetched.response.body?.cancel();
  if (status === 304 && current) return refreshed(ctx, job, current);
  if ((status === 404 || status === 410) && negativeTtlMs(job) > 0) {
    ctx.background.run(ctx.stores.state.set(absentKey(job), String(status), negativeTtlMs(job)).catch(() => {}));
  }
  ctx.observer.fetchFailed({ ...job.event, reason: `upstream answered ${status}` });
  const stale = upstreamFault ? await serveStale(ctx, job, current, `upstream answered ${status}`) : null;
  return stale ?? upstreamStatusError(job, fetched.response);
}

/**
 * Copies the upstream's body into the blob store and to the client at once (fill.ts), then
 * commits it — unless the copy failed, the blob store could not keep it, or the lease was lost.
 */
async function store(ctx: ProxyContext, job: Job, lease: Lease, current: StoredEntry | null, fetched: Fetched, respond: Respond): Promise<void> {
  const source = bodyToStore(job, fetched);
  if (source instanceof DocumentRefused) {
    ctx.observer.fetchFailed({ ...job.event, reason: source.message });
    return respond((await serveStale(ctx, job, current, source.message)) ?? jsonError(502, source.code, `${job.remote.name}: ${source.message}`, job.responseHeaders));
  }
  let storedAt: (key: string | null) => void = () => {};
  const stored = new Promise<string | null>((resolve) => (storedAt = resolve));
  const fill: Fill = new Fill(ctx.stores.blobs, source.body, {
    key: `uploads/${crypto.randomUUID()}`,
    size: source.representation.size,
    verify: job.verify,
    stallMs: job.remote.upstream_timeout * 1000,
    deadline: Date.now() + job.remote.fill_timeout * 1000,
    signal: lease.signal,
    joinable: insideCoordinator(ctx.env),
    resume: async (offset, length): Promise<ReadableStream<Uint8Array> | null> => {
      const key = await stored;
      return key ? ((await ctx.stores.blobs.get(key, { offset, length: length ?? (await fill.done).size - offset }))?.body ?? null) : null;
    },
    tracker: { started: (key, id) => ctx.stores.meta.uploadStarted(key, id), ended: (key) => ctx.stores.meta.uploadEnded(key) },
  });
  const checked = answerWhenChecked(job, source.representation);
  if (insideCoordinator(ctx.env)) runningFills.add(job.indexKey, { fill, representation: source.representation, checked });
  const stale = current && ((reason: string) => serveStale(ctx, job, current, reason));
  const answer = checked ? checkedResponse(job, source.representation, fill.tap(undefined, CHECK_BEFORE_ANSWER_BYTES), fill, stale) : null;
  if (!answer) respond(missResponse(job, source.representation, fill.tap.bind(fill)));
  const committed = await fill.done.then(
    (blob: StoredBlob) => commit(ctx, job, lease, current, source, blob),
    (error: Error) => void ctx.observer.fetchFailed({ ...job.event, reason: error.message }),
  );
  storedAt(committed?.blobKey ?? null);
  if (answer) respond(await answer);
}

/**
 * Answered once the copy is checked and stored: HEAD, index documents (a document that cannot
 * be rewritten then falls back to the stale copy) and small verified files (a mismatch is then
 * a clear 502, not a cut transfer). What waits is buffered up to this much, then read back from
 * the stored copy.
 */
const CHECK_BEFORE_ANSWER_BYTES = 8 * 1024 * 1024;

function answerWhenChecked(job: Job, representation: Representation): boolean {
  const { size } = representation;
  return job.request.method === "HEAD" || job.rewriteBody !== undefined || (job.verify !== undefined && size !== null && size <= CHECK_BEFORE_ANSWER_BYTES);
}

/**
 * A request that arrives while the key is being filled in this coordinator reads the bytes as
 * they land, from the first (null when the fill is past its join window: it waits for the commit).
 */
function joinRunning(ctx: ProxyContext, job: Job): Response | Promise<Response> | null {
  if (!insideCoordinator(ctx.env)) return null;
  const running = runningFills.get(job.indexKey);
  if (!running) return null;
  if (running.checked) {
    const body = running.fill.join();
    return body && checkedResponse(job, running.representation, body, running.fill);
  }
  if (!running.fill.joinable) return null;
  // missResponse taps at once, synchronously: the fill is still joinable then.
  return missResponse(job, running.representation, (range) => running.fill.join(range)!);
}

/** The whole (small) body waits in its tap until the copy is checked; then it is the answer, or the failure is. */
async function checkedResponse(
  job: Job,
  representation: Representation,
  body: ReadableStream<Uint8Array>,
  fill: Fill,
  stale?: ((reason: string) => Promise<Response | null>) | null,
): Promise<Response> {
  try {
    const blob = await fill.done;
    const headers = representationHeaders({ ...representation, size: blob.size, sha256: blob.sha256 }, { source: "remote", disposition: job.dispositionHeader, extra: job.responseHeaders });
    if (job.request.method === "HEAD") {
      await body.cancel();
      return new Response(null, { status: 200, headers });
    }
    return new Response(body, { status: 200, headers });
  } catch (error) {
    const code = error instanceof FillFailed ? error.code : "UPSTREAM_BROKEN";
    const message = (error as Error).message;
    return (await stale?.(message)) ?? jsonError(502, code, `${job.remote.name}: ${message}`, job.responseHeaders);
  }
}

/** The body to copy: the upstream's own, or the rewritten document (whose links point back here), streamed. */
function bodyToStore(job: Job, fetched: Fetched): Source | DocumentRefused {
  const { response } = fetched;
  const representation = upstreamRepresentation(job, response.headers);
  const answer = response.headers;
  if (!job.rewriteBody) return { body: response.body ?? new Blob([]).stream(), representation, fetchedAt: fetched.fetchedAt, answer };
  try {
    const document = job.rewriteBody(response);
    const headers = { ...representation.headers, ...document.headers };
    // A document is answered and committed only after its body ended (answerWhenChecked): the headers are complete by then.
    const atEnd = document.headersAtEnd;
    const body = atEnd ? document.body.pipeThrough(new TransformStream({ flush: () => void Object.assign(headers, atEnd()) })) : document.body;
    return { body, representation: { ...representation, size: null, headers }, fetchedAt: fetched.fetchedAt, answer };
  } catch (error) {
    if (error instanceof DocumentRefused) return error; // over max_document_size by its Content-Length
    throw error;
  }
}

/** The bytes of a fill as they arrive, all of them or one range. */
type Tap = (range?: { offset: number; length: number }) => ReadableStream<Uint8Array>;

/** A client of a fill gets the bytes as they arrive (a Range of them, when the length is known and nothing is to be verified). */
function missResponse(job: Job, representation: Representation, tap: Tap): Response {
  const headers = representationHeaders(representation, { source: "remote", disposition: job.dispositionHeader, extra: job.responseHeaders });
  const { size } = representation;
  const range = size !== null && !job.verify ? parseRange(job.request.headers.get("range"), size) : null;
  if (range && range !== "unsatisfiable") {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${size}`);
    headers.set("content-length", String(range.length));
    return new Response(withLength(tap(range), range.length), { status: 206, headers });
  }
  const body = tap();
  return new Response(size === null ? body : withLength(body, size), { status: 200, headers });
}

/** A stream sent with Content-Length: workerd sends a JS stream chunked unless it passes through a FixedLengthStream. */
function withLength(body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const sized = new FixedLengthStream(length);
  // A failed fill errors the client's transfer through this pipe; the pipe's own rejection says nothing more.
  body.pipeTo(sized.writable).catch(() => {});
  return sized.readable;
}

/** A complete, verified copy becomes the answer for its key (compare-and-set), then moves to its content address. */
async function commit(ctx: ProxyContext, job: Job, lease: Lease, current: StoredEntry | null, source: Source, blob: StoredBlob): Promise<IndexEntry | null> {
  const started = source.fetchedAt;
  const finished = () => ctx.observer.fetchFinished({ ...job.event, size: blob.size, sha256: blob.sha256, durationMs: Date.now() - started });
  // Uncached: the blob store failed on the way, or the lease was lost (another leader commits).
  if (!blob.stored || lease.signal.aborted) {
    await ctx.stores.blobs.delete(blob.key).catch(() => {});
    finished();
    return null;
  }
  const { representation } = source;
  const entry: IndexEntry = {
    blobKey: blob.key,
    sha256: blob.sha256,
    size: blob.size,
    contentType: representation.contentType,
    upstreamEtag: representation.etag,
    lastModified: representation.lastModified,
    headers: representation.headers,
    fetchedAt: source.fetchedAt,
    freshUntil: freshUntil(job.kind, Math.min(ttlOf(job), job.upstream.freshFor?.(source.answer) ?? Infinity), source.fetchedAt),
  };
  const committed = await writeIfNewer(ctx, job, current, entry);
  finished();
  if (!committed) {
    await ctx.stores.blobs.delete(blob.key).catch(() => {});
    return null;
  }
  return promote(ctx, job, committed, blob, current?.entry);
}

/** The upstream confirmed the stored copy: it is fresh for another TTL. Null when its blob cannot be served. */
async function refreshed(ctx: ProxyContext, job: Job, current: StoredEntry): Promise<Response | null> {
  const revalidated = { ...current.entry, freshUntil: freshUntil(job.kind, ttlOf(job)) };
  const served = await serve(ctx, job, revalidated);
  if (served) await ctx.stores.state.compareAndSet(job.indexKey, current.raw, JSON.stringify(revalidated), entryTtlMs(revalidated)).catch(() => false);
  return served;
}

/** The index entry for the key; while the state store is down, the metadata store's record of it. */
async function readStored(ctx: ProxyContext, job: Job): Promise<StoredEntry | null> {
  try {
    return await readStoredEntry(ctx.stores.state, job.indexKey);
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    const entry = await ctx.stores.meta.artifactEntry(job.remote.name, job.cacheKey).catch(() => null);
    return entry ? parseEntry(JSON.stringify(entry)) : null;
  }
}

/** The header options of a fresh hit: what the hot path answers with too. */
function hitHeaderOptions(job: Job): HeaderOptions {
  return { source: "cache", disposition: job.dispositionHeader, extra: job.responseHeaders };
}

/** Serves an entry; if its blob was just promoted away, follows the entry once more. */
async function serve(ctx: ProxyContext, job: Job, entry: IndexEntry, source: "cache" | "remote" = "cache", stale?: string): Promise<Response | null> {
  const options = { ...hitHeaderOptions(job), source, stale: stale ? { reason: stale, fetchedAt: entry.fetchedAt } : undefined };
  const edge = EdgeBlobCache.from(ctx.env, ctx.stores.blobs, ctx.background);
  const served = await serveEntry(ctx.stores.blobs, entry, job.request, options, edge);
  if (served) return served;
  const moved = await readStored(ctx, job).catch(() => null);
  return moved && moved.entry.blobKey !== entry.blobKey ? serveEntry(ctx.stores.blobs, moved.entry, job.request, options, edge) : null;
}

async function serveStale(ctx: ProxyContext, job: Job, stored: StoredEntry | null, reason: string): Promise<Response | null> {
  return stored ? serve(ctx, job, stored.entry, "cache", reason) : null;
}

/** HEAD for something not cached: ask the upstream's HEAD, don't download the file. */
async function headUpstream(ctx: ProxyContext, job: Job): Promise<Response> {
  try {
    const upstream = await job.upstream.fetch({ method: "HEAD" });
    if (upstream.status !== 200) return upstreamStatusError(job, upstream);
    const headers = representationHeaders(upstreamRepresentation(job, upstream.headers), { source: "remote", disposition: job.dispositionHeader, extra: job.responseHeaders });
    return new Response(null, { status: 200, headers });
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    return jsonError(error.status, error.code, `${job.remote.name}: ${error.message}`, job.responseHeaders);
  }
}

function ignoreUnavailable(error: unknown): void {
  if (!isUnavailable(error)) throw error;
}

function noteFailure(ctx: ProxyContext, job: Job, reason: string): void {
  ctx.background.run(upstreamFailed(ctx.stores.state, job.remote, ctx.observer, job.cacheKey, reason).catch(() => {}));
}

function conditionalHeaders(cached: IndexEntry | undefined): Headers {
  const headers = new Headers();
  if (cached?.upstreamEtag) headers.set("if-none-match", cached.upstreamEtag);
  else if (cached?.lastModified) headers.set("if-modified-since", cached.lastModified);
  return headers;
}

/** What the upstream's headers say about the body (decoded: an encoded length says nothing about it). */
function upstreamRepresentation(job: Job, headers: Headers): UpstreamRepresentation {
  const replayed = (job.replayHeaders ?? []).flatMap((name) => {
    const value = headers.get(name);
    return value === null ? [] : [[name, value] as const];
  });
  const length = headers.get("content-length");
  return {
    contentType: job.contentType ?? contentTypeFor(job.path, headers.get("content-type")),
    size: length !== null && /^\d+$/.test(length) && !headers.has("content-encoding") ? Number(length) : null,
    etag: headers.get("etag") ?? undefined,
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
