import type { Env } from "../env.ts";
import type { Fill } from "./fill.ts";
import type { Representation } from "./response-headers.ts";

/** Set in the env of the app a FillCoordinator runs (functions/fills/coordinator.ts). */
export const INSIDE_COORDINATOR = "ARTIFACTAPI_INSIDE_FILL_COORDINATOR";

/** Requests in a coordinator may share a running fill; everywhere else they may not (workerd forbids it). */
export function insideCoordinator(env: Env): boolean {
  return env[INSIDE_COORDINATOR] === "1";
}

/** The coordinator binding, when there is one and this is not already inside it. */
export function coordinatorFor(env: Env): DurableObjectNamespace | null {
  const namespace = env.FILLS as DurableObjectNamespace | undefined;
  return namespace && !insideCoordinator(env) ? namespace : null;
}

/** A fill running in this coordinator, for requests of the same key to join. */
export interface Running {
  fill: Fill;
  representation: Representation;
  /** Answered only once checked (small verified files): joiners wait for the check too. */
  checked: boolean;
}

const running = new Map<string, Running>();
/** Requests waiting for a fill of their key to start here: woken when it does. */
const waiting = new Map<string, Set<() => void>>();

export const runningFills = {
  get: (key: string) => running.get(key),
  /** Registers a fill until it ends, and wakes the requests waiting for it. */
  add(key: string, fill: Running): void {
    running.set(key, fill);
    for (const wake of waiting.get(key) ?? []) wake();
    void fill.fill.done.then(
      () => running.get(key) === fill && running.delete(key),
      () => running.get(key) === fill && running.delete(key),
    );
  },
  /**
   * Resolves once a fill of `key` starts here, or after `ms`. Requests that arrived before the
   * leader's upstream answered then join the fill from its first byte, instead of finding it on
   * their next poll, past its window (a fast upstream sends 8 MiB in less than the first poll).
   */
  started(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const keyWaiting = waiting.get(key) ?? waiting.set(key, new Set()).get(key)!;
      const wake = () => {
        clearTimeout(timer);
        keyWaiting.delete(wake);
        if (keyWaiting.size === 0 && waiting.get(key) === keyWaiting) waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      keyWaiting.add(wake);
    });
  },
};
