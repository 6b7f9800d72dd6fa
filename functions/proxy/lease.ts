import type { StateStore } from "../../infra/state/types.ts";
import { isUnavailable } from "../../infra/unavailable.ts";

/** The lease was lost (renewal refused: it lapsed and another request may hold it now). */
export class LeaseLost extends Error {
  constructor(key: string) {
    super(`lost the fetch lock ${key}`);
    this.name = "LeaseLost";
  }
}

/**
 * A held fetch lock. It is renewed from the moment it is taken, every third of its TTL; when a
 * renewal is refused, `signal` aborts, so the holder stops (its upstream fetch is aborted with it)
 * and does not commit. While the state store is unreachable renewals cannot be answered either
 * way: the holder goes on (nobody else can take the lock meanwhile).
 *
 * `coordinated` is false for a lease taken while the state store was down: nothing was locked,
 * so concurrent requests may fetch too; the holder still works, uncoordinated.
 */
export interface Lease {
  readonly signal: AbortSignal;
  readonly coordinated: boolean;
}

export type Leased<T> = { held: true; value: T } | { held: false };

/**
 * Runs `work` under the lock `key` if it can be taken now; `{ held: false }` when another
 * request holds it. The lease is released when `work` settles, whatever happens.
 */
export async function withLease<T>(state: StateStore, key: string, ttlMs: number, work: (lease: Lease) => Promise<T>): Promise<Leased<T>> {
  const owner = crypto.randomUUID();
  let coordinated = true;
  try {
    if (!(await state.acquireLock(key, owner, ttlMs))) return { held: false };
  } catch (error) {
    if (!isUnavailable(error)) throw error;
    coordinated = false;
  }
  const controller = new AbortController();
  const renew = async () => {
    const kept = await state.renewLock(key, owner, ttlMs).catch((error: unknown) => isUnavailable(error));
    if (!kept) controller.abort(new LeaseLost(key));
  };
  const timer = coordinated ? setInterval(() => void renew(), ttlMs / 3) : undefined;
  try {
    return { held: true, value: await work({ signal: controller.signal, coordinated }) };
  } finally {
    clearInterval(timer);
    if (coordinated) await state.releaseLock(key, owner).catch(() => {}); // a lapsed lease frees itself
  }
}
