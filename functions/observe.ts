/**
 * What the request path reports as it works: events for the live stream and counts for
 * stats. The request path only calls these; what is kept, and where, is the observer's
 * business (the management API's), so a hit pays nothing here before its response.
 */
export interface FetchEvent {
  remote: string;
  path: string;
  cacheKey: string;
}

export interface Observer {
  fetchStarted(event: FetchEvent): void;
  fetchFinished(event: FetchEvent & { size: number; sha256: string; durationMs: number }): void;
  fetchFailed(event: FetchEvent & { reason: string }): void;
  /** One answered request: where it came from and how many body bytes it carries. */
  served(event: FetchEvent & { source: "cache" | "remote" | "stale" | "error"; status: number; bytes: number }): void;
  /** A remote's circuit breaker opened (upstream failing) or closed again (upstream answered). */
  breakerChanged(remote: string, state: "opened" | "closed", reason?: string): void;
}

export const silentObserver: Observer = {
  fetchStarted() {},
  fetchFinished() {},
  fetchFailed() {},
  served() {},
  breakerChanged() {},
};
