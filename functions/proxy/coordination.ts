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

export const runningFills = {
  get: (key: string) => running.get(key),
  /** Registers a fill until it ends. */
  add(key: string, fill: Running): void {
    running.set(key, fill);
    void fill.fill.done.then(
      () => running.get(key) === fill && running.delete(key),
      () => running.get(key) === fill && running.delete(key),
    );
  },
};
