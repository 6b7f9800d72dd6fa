/**
 * What the request path reports as it works: events for the live stream and counts for
 * stats. The request path only calls these; what is kept, and where, is the observer's
 * business (the management API's), so a hit pays nothing here before its response.
 */
export interface FetchEvent {
  remote: string;
  path: string;
  cacheKey: string;
  /** A member's own request made for a virtual (`remote` is the member): that virtual. */
  virtual?: string;
  /** A virtual's answer (`remote` is the virtual) that one member gave: that member. */
  member?: string;
}

/** A write to a local repository (`remote` names the local, as in every event). */
export interface UploadEvent {
  remote: string;
  path: string;
  size: number;
  sha256: string;
  /** "admin" or the write token's name. */
  by: string;
}

/** Where an answered request's body came from: the cache, the upstream, an expired copy, a local's own file, or an error. */
export type ServedSource = "cache" | "remote" | "stale" | "local" | "error";

export interface Observer {
  fetchStarted(event: FetchEvent): void;
  fetchFinished(event: FetchEvent & { size: number; sha256: string; durationMs: number }): void;
  fetchFailed(event: FetchEvent & { reason: string }): void;
  /** One answered request: where it came from and how many body bytes it carries. */
  served(event: FetchEvent & { source: ServedSource; status: number; bytes: number }): void;
  /** A file committed to a local (`replaced`: it took the place of another at the same path). */
  uploadFinished(event: UploadEvent & { durationMs: number; replaced: boolean }): void;
  uploadDeleted(event: UploadEvent): void;
  /** A remote's circuit breaker opened (upstream failing) or closed again (upstream answered). */
  breakerChanged(remote: string, state: "opened" | "closed", reason?: string): void;
}

export const silentObserver: Observer = {
  fetchStarted() {},
  fetchFinished() {},
  fetchFailed() {},
  served() {},
  uploadFinished() {},
  uploadDeleted() {},
  breakerChanged() {},
};
