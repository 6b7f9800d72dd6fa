import { env } from "cloudflare:workers";
import { MemoryBlobStore } from "../../infra/blob/memory.ts";
import type { BlobStore } from "../../infra/blob/types.ts";
import { PostgresLocalStore } from "../../infra/meta/postgres-locals.ts";
import { PostgresMetadataStore } from "../../infra/meta/postgres.ts";
import { PgConnection } from "../../infra/pg/connection.ts";
import { MemoryStateStore } from "../../infra/state/memory.ts";
import type { StateStore } from "../../infra/state/types.ts";
import { BackendUnavailable } from "../../infra/unavailable.ts";
import { Background } from "../../functions/background.ts";
import { parseRemote, type RemoteConfig } from "../../functions/config/schema.ts";
import type { ProxyContext } from "../../functions/context.ts";
import { silentObserver } from "../../functions/observe.ts";
import { fetchThrough } from "../../functions/proxy/fetch-through.ts";
import { indexKey, readEntry } from "../../functions/proxy/index-entry.ts";
import type { FetchPlan } from "../../functions/proxy/plan.ts";
import { UpstreamError, type Upstream, type UpstreamCall } from "../../functions/proxy/upstream.ts";
import type { Stores } from "../../functions/stores.ts";

/** How the scripted upstream answers one path, and how it misbehaves. */
export interface Script {
  body?: Uint8Array;
  status?: number;
  headers?: Record<string, string>;
  /** Bytes per chunk (64 KiB by default, as a socket delivers them). */
  chunk?: number;
  /** Pause between chunks. */
  gapMs?: number;
  /** Wait before the response headers. */
  headersAfterMs?: number;
  /** After this many bytes, send nothing more (the connection stays open). */
  stallAfter?: number;
  /** After this many bytes, the connection breaks. */
  cutAfter?: number;
  /** Announce a length other than the body's. */
  contentLength?: number | null;
  /** Throw this instead of answering (refused connection, timeout, a policy refusal). */
  error?: UpstreamError;
}

/**
 * An upstream behind the engine's own seam (functions/proxy/upstream.ts), scripted per path:
 * the request path's tests drive every fault through it without a network. (The integration
 * and fault suites do the same against real servers on loopback.)
 */
export class ScriptedUpstream {
  readonly scripts = new Map<string, Script>();
  readonly calls: { path: string; method: string; headers: Headers }[] = [];

  serve(path: string, script: Script): this {
    this.scripts.set(path, script);
    return this;
  }

  count(path: string, method = "GET"): number {
    return this.calls.filter((call) => call.path === path && call.method === method).length;
  }

  upstream(path: string): Upstream {
    const url = new URL(`https://upstream.test/${path}`);
    return { url, fetch: (call) => this.#answer(path, call) };
  }

  async #answer(path: string, call: UpstreamCall): Promise<Response> {
    this.calls.push({ path, method: call.method, headers: new Headers(call.headers) });
    const script = this.scripts.get(path) ?? { status: 404, body: new TextEncoder().encode("not found") };
    if (script.headersAfterMs) await sleep(script.headersAfterMs);
    if (script.error) throw script.error;
    const body = script.body ?? new Uint8Array(0);
    const headers = new Headers(script.headers);
    const length = script.contentLength === undefined ? body.byteLength : script.contentLength;
    if (length !== null) headers.set("content-length", String(length));
    if (call.headers?.get("if-none-match") && call.headers.get("if-none-match") === headers.get("etag")) return new Response(null, { status: 304, headers });
    return new Response(call.method === "HEAD" ? null : scriptedBody(body, script, call.signal), { status: script.status ?? 200, headers });
  }
}

function scriptedBody(body: Uint8Array, script: Script, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const chunk = script.chunk ?? 65_536;
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal?.aborted) return controller.error(signal.reason);
      if (offset >= body.byteLength) return controller.close();
      if (script.cutAfter !== undefined && offset >= script.cutAfter) return controller.error(new Error("connection reset by peer"));
      if (script.stallAfter !== undefined && offset >= script.stallAfter) return new Promise<void>(() => {});
      if (script.gapMs && offset > 0) await sleep(script.gapMs);
      const end = Math.min(body.byteLength, offset + chunk, script.stallAfter ?? Infinity, script.cutAfter ?? Infinity);
      controller.enqueue(body.slice(offset, end));
      offset = end;
    },
  });
}

/** A store whose every call fails while `down` is set, as an outage does (BackendUnavailable). */
export function switchable<T extends object>(store: T, backend: string): T & { down: boolean } {
  const flags = { down: false };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "down") return flags.down;
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        flags.down ? Promise.reject(new BackendUnavailable(backend, new Error("connection refused"))) : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
    set(target, property, value) {
      if (property === "down") return (flags.down = Boolean(value)), true;
      return Reflect.set(target, property, value);
    },
  }) as T & { down: boolean };
}

/** A blob store whose writes (puts and parts) fail while `failWrites` is set: a full or failing bucket. */
export function failingWrites(blobs: BlobStore): BlobStore & { failWrites: boolean } {
  const flags = { failWrites: false };
  const refuse = () => Promise.reject(new Error("blob store answered 500"));
  return new Proxy(blobs, {
    get(target, property, receiver) {
      if (property === "failWrites") return flags.failWrites;
      if (flags.failWrites && (property === "put" || property === "createMultipartUpload" || property === "copy")) return refuse;
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set(_target, property, value) {
      if (property === "failWrites") return (flags.failWrites = Boolean(value)), true;
      return false;
    },
  }) as BlobStore & { failWrites: boolean };
}

/**
 * The request path on in-memory blob and state stores (switchable, for outages) and the real
 * Postgres for the metadata record, as the Worker wires them.
 */
export class Engine {
  constructor(options: { databaseUrl?: string } = {}) {
    const pg = new PgConnection({ databaseUrl: options.databaseUrl ?? env.BACKENDS.databaseUrl, wsProxy: env.BACKENDS.pgWsProxy });
    this.meta = switchable(new PostgresMetadataStore(pg), "metadata");
    this.locals = new PostgresLocalStore(pg);
  }

  readonly memoryBlobs = new MemoryBlobStore();
  readonly blobs = failingWrites(this.memoryBlobs);
  /** The state store itself, readable while `state` is switched down. */
  readonly memoryState = new MemoryStateStore();
  readonly state: StateStore & { down: boolean } = switchable(this.memoryState, "state");
  readonly meta: PostgresMetadataStore & { down: boolean };
  readonly locals: PostgresLocalStore;
  readonly origin = new ScriptedUpstream();
  readonly remoteName = `engine-${crypto.randomUUID().slice(0, 8)}`;

  remote(overrides: Record<string, unknown> = {}): RemoteConfig {
    return parseRemote(this.remoteName, { base_url: "https://upstream.test", ...overrides });
  }

  get stores(): Stores {
    return { blobs: this.blobs, state: this.state, meta: this.meta, locals: this.locals, opened: false, close: async () => {} };
  }

  /** One client request through fetchThrough; `settled` resolves once its background work (the fill) is done. */
  request(path: string, options: { remote?: RemoteConfig; plan?: Partial<FetchPlan>; init?: RequestInit } = {}): { response: Promise<Response>; settled: Promise<void> } {
    const background = new Background();
    const ctx: ProxyContext = { stores: this.stores, env: {}, background, observer: silentObserver };
    const remote = options.remote ?? this.remote();
    const plan: FetchPlan = {
      remote,
      request: new Request(`https://proxy.test/api/v1/remote/${remote.name}/${path}`, options.init),
      cacheKey: path,
      kind: "immutable",
      path,
      upstream: this.origin.upstream(path),
      ...options.plan,
    };
    const response = fetchThrough(ctx, plan);
    return { response, settled: response.then(() => background.settled(), () => background.settled()) };
  }

  async get(path: string, options: Parameters<Engine["request"]>[1] = {}): Promise<Response> {
    return this.request(path, options).response;
  }

  async entry(path: string) {
    return readEntry(this.memoryState, indexKey(this.remoteName, path));
  }
}

export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let offset = 0; offset < size; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
}

export async function sha256(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads a body to its end; rejects if the transfer fails. */
export async function bodyOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

