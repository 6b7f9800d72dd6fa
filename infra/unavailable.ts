/**
 * A backend could not be reached (connection refused or lost, timed out, answered 5xx) — as
 * opposed to refusing a command. Adapters throw it so the request path can degrade (serve hits
 * from another store, stream misses uncached) and the management API can answer 503.
 */
export class BackendUnavailable extends Error {
  /** Which store: "state", "metadata" or "blobs". */
  readonly backend: string;

  constructor(backend: string, cause: unknown) {
    super(`the ${backend} store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "BackendUnavailable";
    this.backend = backend;
  }
}

export function isUnavailable(error: unknown): error is BackendUnavailable {
  return error instanceof BackendUnavailable;
}
