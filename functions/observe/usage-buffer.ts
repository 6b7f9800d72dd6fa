import type { UsageBatch } from "../../infra/meta/types.ts";
import type { ServedSource } from "../observe.ts";

type RemoteRow = UsageBatch["remotes"][number];
type ArtifactRow = UsageBatch["artifacts"][number];

/** Write at most this often per isolate, unless the buffer grows past MAX_KEYS first. */
const FLUSH_AFTER_MS = 1_000;
const MAX_KEYS = 500;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Request counters summed in memory across the requests an isolate answers, so that a burst
 * of hits costs one Postgres write per second rather than one per hit. Counts still in the
 * buffer when an isolate is evicted are lost: stats are an operator's view, not billing.
 */
export class UsageBuffer {
  #remotes = new Map<string, RemoteRow>();
  #artifacts = new Map<string, ArtifactRow>();
  #since = 0;

  /** `member`: the member a virtual's answer came from (the latest one, when several served the path this hour). */
  served(remote: string, path: string, cacheKey: string, source: ServedSource, bytes: number, member?: string, now = Date.now()): void {
    const row = this.#remoteRow(remote, now);
    row.requests++;
    row.bytesServed += bytes;
    if (source === "error") row.errors++;
    else if (source === "remote") row.misses++;
    else row.hits++;
    if (source === "error") return;
    // Numbers in the keys; a Date only for a new row (this runs on every hit).
    const hour = now - (now % HOUR);
    const key = `${remote}\n${cacheKey}\n${hour}`;
    let artifact = this.#artifacts.get(key);
    if (!artifact) {
      artifact = { remote, path, cacheKey, hour: new Date(hour), requests: 0, hits: 0, bytesServed: 0, lastAccess: new Date(now) };
      this.#artifacts.set(key, artifact);
    }
    artifact.requests++;
    if (source !== "remote") artifact.hits++;
    artifact.bytesServed += bytes;
    artifact.lastAccess.setTime(now);
    if (member) artifact.member = member;
  }

  fetched(remote: string, bytes: number, now = Date.now()): void {
    this.#remoteRow(remote, now).bytesFetched += bytes;
  }

  uploaded(local: string, bytes: number, now = Date.now()): void {
    const row = this.#remoteRow(local, now);
    row.uploads++;
    row.bytesUploaded += bytes;
  }

  /** True when the buffer holds counts old enough (or many enough) to be written. */
  due(now = Date.now()): boolean {
    const size = this.#remotes.size + this.#artifacts.size;
    return size > 0 && (now - this.#since >= FLUSH_AFTER_MS || size >= MAX_KEYS);
  }

  /** Hands over everything buffered and starts empty. */
  take(): UsageBatch | null {
    if (this.#remotes.size + this.#artifacts.size === 0) return null;
    const batch = { remotes: [...this.#remotes.values()], artifacts: [...this.#artifacts.values()] };
    this.#remotes = new Map();
    this.#artifacts = new Map();
    return batch;
  }

  #remoteRow(remote: string, now: number): RemoteRow {
    if (this.#remotes.size + this.#artifacts.size === 0) this.#since = now;
    const minute = now - (now % MINUTE);
    const key = `${remote}\n${minute}`;
    let row = this.#remotes.get(key);
    if (!row) {
      row = { remote, minute: new Date(minute), requests: 0, hits: 0, misses: 0, errors: 0, bytesServed: 0, bytesFetched: 0, uploads: 0, bytesUploaded: 0 };
      this.#remotes.set(key, row);
    }
    return row;
  }
}
