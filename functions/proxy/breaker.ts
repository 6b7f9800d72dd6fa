import type { StateStore } from "../../infra/state/types.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Observer } from "../observe.ts";

/**
 * A per-remote circuit breaker: after `failures` upstream failures (unreachable, timeout, 5xx)
 * within `window` seconds, requests that would go upstream are answered at once for `open`
 * seconds — from a stale copy, or 503 — instead of each waiting on a failing upstream. After
 * that one request is let through; when the upstream answers again the breaker closes.
 * Only misses pay for it (a state read); hits never look.
 */
const failuresKey = (remote: string) => `breaker:failures:${remote}`;
const openKey = (remote: string) => `breaker:open:${remote}`;
/** Set while a breaker has opened and not yet closed, so closing is reported once. */
const trippedKey = (remote: string) => `breaker:tripped:${remote}`;

/** Seconds until the breaker lets requests through again, or 0 when it is closed. */
export async function breakerOpenFor(state: StateStore, remote: RemoteConfig): Promise<number> {
  const until = Number(await state.get(openKey(remote.name)));
  return until > Date.now() ? Math.ceil((until - Date.now()) / 1000) : 0;
}

export async function upstreamFailed(state: StateStore, remote: RemoteConfig, observer: Observer, reason: string): Promise<void> {
  const { failures, window, open } = remote.circuit_breaker;
  const count = await state.incr(failuresKey(remote.name), window * 1000);
  if (count !== failures) return;
  await state.set(openKey(remote.name), String(Date.now() + open * 1000), open * 1000);
  await state.set(trippedKey(remote.name), "1");
  observer.breakerChanged(remote.name, "opened", `${failures} upstream failures within ${window}s; last: ${reason}`);
}

export async function upstreamAnswered(state: StateStore, remote: RemoteConfig, observer: Observer): Promise<void> {
  if ((await state.get(trippedKey(remote.name))) === null) return;
  await Promise.all([state.delete(trippedKey(remote.name)), state.delete(failuresKey(remote.name))]);
  observer.breakerChanged(remote.name, "closed");
}
