import type { NewEvent } from "../../infra/meta/types.ts";
import type { Background } from "../background.ts";
import type { FetchEvent, Observer, ServedSource, UploadEvent } from "../observe.ts";
import type { Stores } from "../stores.ts";
import { UsageBuffer } from "./usage-buffer.ts";

/** What an event adds when a virtual is involved: the virtual a member was asked for, or the member a virtual's answer came from. */
function through(event: FetchEvent): { virtual?: string; member?: string } {
  return { ...(event.virtual ? { virtual: event.virtual } : {}), ...(event.member ? { member: event.member } : {}) };
}

/** One buffer per isolate: requests add to it, whichever request finds it due writes it. */
const usage = new UsageBuffer();

/** Stats keep 7 days; older counters and events are pruned now and then by a writer. */
const RETENTION_MS = 8 * 24 * 3600_000;
/** How often an isolate prunes: old rows are few and harmless, a query per request is not. */
const PRUNE_EVERY_MS = 15 * 60_000;
let lastPrune = Date.now();
const pruneDue = () => Date.now() - lastPrune >= PRUNE_EVERY_MS;

/** A hit answered before routing (hot-route.ts): counted as the Recorder counts one. */
export function recordHotHit(event: FetchEvent, bytes: number): void {
  usage.served(event.remote, event.path, event.cacheKey, "cache", bytes);
}

/** Whether counters are due to be written: then a request takes the full path, whose Recorder writes them. */
export function usageDue(): boolean {
  return usage.due() || pruneDue();
}

/**
 * The Observer behind the management API: fetch events go to the event log, served requests
 * to the usage counters. Nothing is written before the response: the request middleware calls
 * `responded()`, and every write after that runs as background work.
 */
export class Recorder implements Observer {
  readonly #stores: Stores;
  readonly #background: Background;
  #events: NewEvent[] = [];
  #answered = false;
  #scheduled = false;

  constructor(stores: Stores, background: Background) {
    this.#stores = stores;
    this.#background = background;
  }

  fetchStarted(event: FetchEvent): void {
    this.event("fetch.started", event.remote, { path: event.path, ...through(event) });
  }

  fetchFinished(event: FetchEvent & { size: number; sha256: string; durationMs: number }): void {
    usage.fetched(event.remote, event.size);
    this.event("fetch.finished", event.remote, { path: event.path, size: event.size, sha256: event.sha256, duration_ms: event.durationMs, ...through(event) });
  }

  fetchFailed(event: FetchEvent & { reason: string }): void {
    this.event("fetch.failed", event.remote, { path: event.path, reason: event.reason, ...through(event) });
  }

  served(event: FetchEvent & { source: ServedSource; status: number; bytes: number }): void {
    usage.served(event.remote, event.path, event.cacheKey, event.source, event.bytes, event.member);
  }

  uploadFinished(event: UploadEvent & { durationMs: number; replaced: boolean }): void {
    usage.uploaded(event.remote, event.size);
    this.event("upload.finished", event.remote, {
      path: event.path,
      size: event.size,
      sha256: event.sha256,
      by: event.by,
      duration_ms: event.durationMs,
      replaced: event.replaced,
    });
  }

  uploadDeleted(event: UploadEvent): void {
    this.event("upload.deleted", event.remote, { path: event.path, size: event.size, sha256: event.sha256, by: event.by });
  }

  /** For the circuit breaker: `breaker.opened` / `breaker.closed`. */
  breakerChanged(remote: string, state: "opened" | "closed", reason?: string): void {
    this.event(`breaker.${state}`, remote, reason ? { reason } : {});
  }

  /** Any event for the live stream (config changes, evictions). */
  event(type: string, remote: string | undefined, data: Record<string, unknown>): void {
    this.#events.push({ type, remote, data });
    this.#schedule();
  }

  /** The response is out: from now on, recorded things are written. */
  responded(): void {
    this.#answered = true;
    this.#schedule();
  }

  /** Writes this isolate's buffered counters now (the stats endpoint, so it reports up to the moment). */
  async flushUsage(): Promise<void> {
    const batch = usage.take();
    if (batch) await this.#stores.meta.addUsage(batch);
  }

  #schedule(): void {
    if (!this.#answered || this.#scheduled) return;
    // A hot hit usually has nothing to write: no background work, so nothing for the request to wait for.
    if (this.#events.length === 0 && !usage.due() && !pruneDue()) return;
    this.#scheduled = true;
    // A microtask later, so events recorded together go out in one insert.
    this.#background.run(Promise.resolve().then(() => this.#write()));
  }

  async #write(): Promise<void> {
    this.#scheduled = false;
    const events = this.#events;
    this.#events = [];
    const writes: Promise<unknown>[] = [this.#stores.meta.appendEvents(events)];
    if (usage.due()) writes.push(this.flushUsage());
    if (pruneDue()) {
      lastPrune = Date.now();
      writes.push(this.#stores.meta.prune(new Date(Date.now() - RETENTION_MS)));
    }
    await Promise.all(writes);
  }
}
