import type { StateStore } from "../../infra/state/types.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Observer } from "../observe.ts";

/**
 * A per-remote circuit breaker: after `failures` failures of the upstream itself (refused,
 * reset, timed out, 5xx, 429) within `window` seconds, requests that would go upstream are
 * answered at once for `open` seconds — from a stale copy, or 503 — instead of each waiting on a
 * failing upstream. After that one request is let through; when the upstream answers again the
 * breaker closes. Only misses pay for it (a state read); hits never look.
 *
 * A client can make one path fail as often as it likes (a file that always times out), so the
 * failures must span more than one path: one bad path never closes the remote for the others.
 * Refusals of the proxy's own (private addresses, redirect loops) and 4xx are not failures.
 */
const failuresKey = (remote: string) => `breaker:failures:${remote}`;
const pathsKey = (remote: string) => `breaker:paths:${remote}`;
const pathMarker = (remote: string, cacheKey: string) => `breaker:path:${remote}:${cacheKey}`;
const openKey = (remote: string) => `breaker:open:${remote}`;
/** Set while a breaker has opened and not yet closed, so closing is reported once. */
const trippedKey = (remote: string) => `breaker:tripped:${remote}`;
/** Distinct failing paths needed (fewer when the remote opens after fewer failures). */
const MIN_PATHS = 2;

/** Seconds until the breaker lets requests through again, or 0 when it is closed. */
export async function breakerOpenFor(state: StateStore, remote: RemoteConfig): Promise<number> {
  const until = Number(await state.get(openKey(remote.name)));
  return until > Date.now() ? Math.ceil((until - Date.now()) / 1000) : 0;
}

export async function upstreamFailed(state: StateStore, remote: RemoteConfig, observer: Observer, cacheKey: string, reason: string): Promise<void> {
  const { failures, window, open } = remote.circuit_breaker;
  const windowMs = window * 1000;
  const newPath = await state.compareAndSet(pathMarker(remote.name, cacheKey), null, "1", windowMs);
  const paths = newPath ? await state.incr(pathsKey(remote.name), windowMs) : Number(await state.get(pathsKey(remote.name)));
  const count = await state.incr(failuresKey(remote.name), windowMs);
  if (count < failures || paths < Math.min(MIN_PATHS, failures)) return;
  // Only the request that trips it reports the opening.
  if (!(await state.compareAndSet(trippedKey(remote.name), null, "1"))) {
    if ((await breakerOpenFor(state, remote)) > 0) return;
  }
  await state.set(openKey(remote.name), String(Date.now() + open * 1000), open * 1000);
  observer.breakerChanged(remote.name, "opened", `${count} upstream failures on ${paths} paths within ${window}s; last: ${reason}`);
}

export async function upstreamAnswered(state: StateStore, remote: RemoteConfig, observer: Observer): Promise<void> {
  if ((await state.get(trippedKey(remote.name))) === null) return;
  await Promise.all([state.delete(trippedKey(remote.name)), state.delete(failuresKey(remote.name)), state.delete(pathsKey(remote.name))]);
  observer.breakerChanged(remote.name, "closed");
}
