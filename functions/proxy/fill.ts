import type { BlobStore } from "../../infra/blob/types.ts";
import type { Digest } from "../../providers/types.ts";
import { BlobUpload, type StoredBlob, type UploadTracker } from "../storage/blob-upload.ts";
import { CLIENT_BUFFER_BYTES, ClientTap, type Resume } from "./client-tap.ts";

/** The copy could not be completed; nothing of it is kept. */
export class FillFailed extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "FillFailed";
    this.code = code;
  }
}

export interface FillOptions {
  /** Where the bytes go while they arrive (`uploads/<uuid>`: the sweep cleans up after a killed worker). */
  key: string;
  /** The length the upstream announced; null when unknown. */
  size: number | null;
  /** The digest the file must have; checked before the last byte reaches a client. */
  verify?: Digest;
  /** No byte for this long is a cut (upstream_timeout). */
  stallMs: number;
  /** The whole copy must be done by then (epoch ms): a fill never runs unbounded. */
  deadline: number;
  /** Aborts the copy (the lease was lost). */
  signal: AbortSignal;
  /** Where a client that fell behind reads the rest, once the copy is stored. */
  resume: Resume;
  tracker?: UploadTracker;
  /**
   * Keep the first bytes (up to JOIN_WINDOW_BYTES) so requests arriving a moment later can join
   * from the start (join()). Only where requests can share a stream (a Durable Object).
   */
  joinable?: boolean;
}

/** How much of the start of a body a joinable fill keeps for late joiners. */
export const JOIN_WINDOW_BYTES = 8 * 1024 * 1024;
/**
 * Once a request has joined, the window stays open until this long after the fill started
 * (the copy waits at its edge; memory stays JOIN_WINDOW_BYTES): clients started together — a CI
 * fan-out — then all read the body live, even from an upstream that sends 8 MiB in a fraction of
 * a second. A fill nobody joins never waits.
 */
export const JOIN_WINDOW_MS = 1_000;

/**
 * Copies one upstream body into the blob store at the upstream's pace, hashing as it goes, and
 * hands each chunk to every client tap without waiting for any of them. The last chunk is held
 * back until the length and the declared digest are checked, so no client ever receives a
 * complete body that is wrong: on any failure every tap's transfer fails and the upload is
 * removed. A blob store that fails ends the storing, not the copy (`stored: false`).
 */
export class Fill {
  readonly done: Promise<StoredBlob>;
  readonly #taps: ClientTap[] = [];
  readonly #options: FillOptions;
  readonly #upload: BlobUpload;
  #delivered = 0;
  /** The body's first chunks while they fit the join window; null once it is exceeded (or not joinable). */
  #head: Uint8Array[] | null;
  /** Undefined while running; null once complete and checked; the failure otherwise. */
  #outcome: FillFailed | null | undefined = undefined;
  readonly #startedAt = Date.now();
  #joined = false;

  constructor(blobs: BlobStore, body: ReadableStream<Uint8Array>, options: FillOptions) {
    this.#options = options;
    this.#upload = new BlobUpload(blobs, options.key, { size: options.size, alsoHash: options.verify?.algorithm, bestEffort: true, tracker: options.tracker });
    this.#head = options.joinable ? [] : null;
    this.done = this.#run(blobs, body);
    this.done.catch(() => {}); // observed by the caller; never an unhandled rejection
  }

  /**
   * A client stream of the body (or of one range of it), fed as the copy goes; `limit` bytes
   * may wait for the client before it is detached (default CLIENT_BUFFER_BYTES).
   */
  tap(range?: { offset: number; length: number }, limit?: number): ReadableStream<Uint8Array> {
    const tap = new ClientTap({ range, resume: this.#options.resume, limit });
    this.#taps.push(tap);
    return tap.readable;
  }

  /** Whether join() can still give a request the body from its first byte. */
  get joinable(): boolean {
    return this.#head !== null;
  }

  /**
   * A tap for a request that arrives while the copy runs: it gets the body from its first byte
   * (the kept head, then live), or null when the head is no longer kept (it waits for the commit).
   */
  join(range?: { offset: number; length: number }): ReadableStream<Uint8Array> | null {
    if (!this.#head) return null;
    this.#joined = true;
    const kept = this.#head.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    const tap = new ClientTap({ range, resume: this.#options.resume, limit: kept + CLIENT_BUFFER_BYTES });
    let at = 0;
    for (const chunk of this.#head) {
      tap.push(chunk, at);
      at += chunk.byteLength;
    }
    if (this.#outcome !== undefined) tap.settle(this.#outcome);
    else this.#taps.push(tap);
    return tap.readable;
  }

  async #run(blobs: BlobStore, body: ReadableStream<Uint8Array>): Promise<StoredBlob> {
    const reader = body.getReader();
    const reads = this.#reads(reader);
    let held: Uint8Array | null = null;
    try {
      for (;;) {
        const { done, value } = await reads.read();
        if (done) break;
        if (held && this.#closesWindow(held)) await reads.wait(this.#windowEnd());
        if (held) this.#deliver(held);
        held = value;
        await this.#upload.write(value);
        if (!this.#upload.storing) await reads.wait(this.#clientsHaveRoom());
      }
      const blob = await this.#upload.finish().catch((error: Error) => {
        throw new FillFailed("UPSTREAM_SHORT_BODY", error.message);
      });
      const mismatch = this.#digestMismatch(blob);
      if (mismatch) {
        await blobs.delete(blob.key).catch(() => {});
        throw new FillFailed("DIGEST_MISMATCH", mismatch);
      }
      if (held) this.#deliver(held);
      this.#outcome = null;
      for (const tap of this.#taps) tap.settle();
      return blob;
    } catch (error) {
      const failure = asFillFailure(error);
      await Promise.allSettled([this.#upload.abort(failure), reader.cancel(failure)]);
      this.#outcome = failure;
      this.#head = null;
      for (const tap of this.#taps) tap.settle(failure);
      throw failure;
    } finally {
      reads.stop();
    }
  }

  /**
   * Storing failed, so a client that falls behind could not resume from a stored copy: from now
   * on the copy goes at the pace of its slowest client (still bounded by the fill deadline).
   */
  #clientsHaveRoom(): Promise<unknown> {
    for (const tap of this.#taps) tap.hold();
    return Promise.all(this.#taps.map((tap) => tap.room()));
  }

  #closesWindow(chunk: Uint8Array): boolean {
    return this.#head !== null && this.#delivered + chunk.byteLength > JOIN_WINDOW_BYTES;
  }

  /** When a joined fill may close its window (JOIN_WINDOW_MS); at once for one nobody joined. */
  #windowEnd(): Promise<void> {
    const left = this.#startedAt + JOIN_WINDOW_MS - Date.now();
    return this.#joined && left > 0 ? new Promise((resolve) => setTimeout(resolve, left)) : Promise.resolve();
  }

  #deliver(chunk: Uint8Array): void {
    for (const tap of this.#taps) tap.push(chunk, this.#delivered);
    this.#delivered += chunk.byteLength;
    if (this.#head && this.#delivered <= JOIN_WINDOW_BYTES) this.#head.push(chunk);
    else this.#head = null;
  }

  /**
   * Reads of the body, failed when the upstream sends nothing for stallMs, the deadline passes
   * or the lease is lost. One watchdog per copy, not a timer per chunk.
   */
  #reads(reader: ReadableStreamDefaultReader<Uint8Array>): {
    read: () => Promise<ReadableStreamReadResult<Uint8Array>>;
    /** Any other wait of the copy, failed by the deadline or a lost lease as reads are. */
    wait: <T>(waited: Promise<T>) => Promise<T>;
    stop: () => void;
  } {
    const { stallMs, deadline, signal } = this.#options;
    let fail!: (reason: unknown) => void;
    const interrupted = new Promise<never>((_, reject) => (fail = reject));
    interrupted.catch(() => {}); // raced against every read; observed there
    let waitingSince: number | null = null;
    const watchdog = setInterval(() => {
      if (Date.now() >= deadline) fail(new FillFailed("FILL_DEADLINE", "the download did not finish before the fill deadline"));
      else if (waitingSince !== null && Date.now() - waitingSince >= stallMs) fail(new FillFailed("UPSTREAM_STALLED", `the upstream sent nothing for ${stallMs / 1000}s`));
    }, Math.min(1000, Math.max(25, stallMs / 4)));
    const onAbort = () => fail(signal.reason);
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
    return {
      read: async () => {
        waitingSince = Date.now();
        try {
          return await Promise.race([reader.read(), interrupted]);
        } finally {
          waitingSince = null;
        }
      },
      wait: (waited) => Promise.race([waited, interrupted]),
      stop: () => {
        clearInterval(watchdog);
        signal.removeEventListener("abort", onAbort);
      },
    };
  }

  #digestMismatch(blob: StoredBlob): string | null {
    const { verify } = this.#options;
    if (!verify || blob.otherDigest === verify.hex) return null;
    return `the file's ${verify.algorithm} is ${blob.otherDigest}, the index declares ${verify.hex}`;
  }
}

function asFillFailure(error: unknown): FillFailed {
  if (error instanceof FillFailed) return error;
  const message = (error as Error).message;
  // A body that refuses itself (a document that cannot be rewritten) says why in its own code.
  if (error instanceof Error && "code" in error && typeof error.code === "string") return new FillFailed(error.code, message);
  if ((error as Error).name === "LeaseLost") return new FillFailed("LEASE_LOST", `${message}; another request took over the download`);
  return new FillFailed("UPSTREAM_BROKEN", `the upstream transfer failed (${message})`);
}
