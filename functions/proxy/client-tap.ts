/** Bytes a client may fall behind the fill before it is detached from it (per client). */
export const CLIENT_BUFFER_BYTES = 2 * 1024 * 1024;

/** Reads the stored copy from `offset` (`length` bytes, or to the end): where a detached client resumes. */
export type Resume = (offset: number, length: number | null) => Promise<ReadableStream<Uint8Array> | null>;

export interface TapOptions {
  /** Only these bytes of the body (a Range request on a miss). */
  range?: { offset: number; length: number };
  resume: Resume;
  limit?: number;
}

/**
 * One client's view of a fill. The fill pushes chunks and never waits for the client: each
 * client has a bounded buffer of its own. A client that falls further behind is detached: it
 * drains what it has, then reads the rest from the stored copy once the fill has committed it.
 * If the fill fails, the client's transfer fails (never a short 200). A client that goes away
 * changes nothing for the fill. When the blob store fails there is no stored copy to resume
 * from, so the fill holds its clients instead: it waits until each has room (hold(), room()).
 */
export class ClientTap {
  readonly readable: ReadableStream<Uint8Array>;
  readonly #range?: { offset: number; length: number };
  readonly #resume: Resume;
  readonly #limit: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  /** Bytes taken into the queue, counted from the range's start. */
  #accepted = 0;
  #state: "live" | "detached" | "gone" = "live";
  /** The fill's outcome: undefined while it runs, null when it succeeded, else why it failed. */
  #outcome: unknown = undefined;
  #resumed: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #wake: (() => void) | null = null;
  /** Set once there will be no stored copy to resume from: the client is waited for, never detached. */
  #held = false;
  #roomWaiter: (() => void) | null = null;

  constructor(options: TapOptions) {
    this.#range = options.range;
    this.#resume = options.resume;
    this.#limit = options.limit ?? CLIENT_BUFFER_BYTES;
    this.readable = new ReadableStream<Uint8Array>(
      { pull: (controller) => this.#pull(controller), cancel: () => this.#leave() },
      { highWaterMark: 0 },
    );
  }

  /** Whether the client fell behind and now waits for the stored copy. */
  get detached(): boolean {
    return this.#state === "detached";
  }

  /** From now on the fill waits for this client (room()) instead of detaching it. */
  hold(): void {
    this.#held = true;
  }

  /** Resolves once the client's buffer is within its limit again, or the client is gone. */
  room(): Promise<void> {
    if (this.#state !== "live" || this.#queued <= this.#limit) return Promise.resolve();
    return new Promise<void>((resolve) => (this.#roomWaiter = resolve));
  }

  /** A chunk of the body that starts at byte `at`. */
  push(chunk: Uint8Array, at: number): void {
    if (this.#state !== "live") return;
    const piece = this.#slice(chunk, at);
    if (piece.byteLength === 0) return;
    if (!this.#held && this.#queued + piece.byteLength > this.#limit) {
      this.#state = "detached";
      return this.#notify();
    }
    this.#queue.push(piece);
    this.#queued += piece.byteLength;
    this.#accepted += piece.byteLength;
    this.#notify();
  }

  /** The fill is complete and verified (null) or failed (the reason). */
  settle(failure: unknown = null): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = failure;
    this.#notify();
  }

  #slice(chunk: Uint8Array, at: number): Uint8Array {
    if (!this.#range) return chunk;
    const start = Math.max(0, this.#range.offset - at);
    const end = Math.min(chunk.byteLength, this.#range.offset + this.#range.length - at);
    return start < end ? chunk.subarray(start, end) : chunk.subarray(0, 0);
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      const next = this.#queue.shift();
      if (next) {
        this.#queued -= next.byteLength;
        if (this.#queued <= this.#limit) this.#makeRoom();
        return controller.enqueue(next);
      }
      // A range is complete once its bytes are out (ranges are tapped only from unverified fills).
      if (this.#range && this.#accepted === this.#range.length && this.#state === "live") return controller.close();
      if (this.#outcome !== undefined && this.#outcome !== null) return controller.error(this.#outcome);
      if (this.#outcome === null) {
        if (this.#state === "live") return controller.close();
        return this.#pullStored(controller);
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** After a detach: the rest of the body from the stored copy. */
  async #pullStored(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (!this.#resumed) {
      const offset = (this.#range?.offset ?? 0) + this.#accepted;
      const length = this.#range ? this.#range.length - this.#accepted : null;
      const stored = await this.#resume(offset, length).catch(() => null);
      if (!stored) return controller.error(new Error("the stored copy to resume from is not there"));
      this.#resumed = stored.getReader();
    }
    const { done, value } = await this.#resumed.read();
    return done ? controller.close() : controller.enqueue(value);
  }

  #leave(): void {
    this.#state = "gone";
    this.#queue = [];
    this.#queued = 0;
    void this.#resumed?.cancel().catch(() => {});
    this.#makeRoom();
  }

  #makeRoom(): void {
    const waiter = this.#roomWaiter;
    this.#roomWaiter = null;
    waiter?.();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
