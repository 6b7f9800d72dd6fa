import { BackendUnavailable } from "./unavailable.ts";

/** How long one call to Postgres or the state store may take before it counts as unavailable (BACKEND_TIMEOUT_SECONDS). */
export const DEFAULT_BACKEND_TIMEOUT_SECONDS = 30;
/** How long one S3 request may take to answer (S3_REQUEST_TIMEOUT_SECONDS): longer, since an upload part is one request. */
export const DEFAULT_S3_REQUEST_TIMEOUT_SECONDS = 30;

/**
 * After a timeout the backend is taken for unavailable this long without being asked: a hung
 * backend would otherwise cost every call of every request its full timeout.
 */
const OUTAGE_MS = 5_000;
const outages = new Map<string, number>();

/** Throws at once while `backend` timed out lately. */
export function assertReachable(backend: string): void {
  if ((outages.get(backend) ?? 0) > Date.now()) throw new BackendUnavailable(backend, new Error(`it timed out less than ${OUTAGE_MS / 1000}s ago`));
}

export function noteTimeout(backend: string): void {
  outages.set(backend, Date.now() + OUTAGE_MS);
}

/**
 * `work`, bounded: a backend that accepted the connection but does not answer (a hung server,
 * a stalled network) is unavailable after `ms`, so the request path degrades instead of
 * hanging. `onTimeout` drops what the work holds (its connection).
 */
export async function withinTimeout<T>(backend: string, ms: number, work: () => Promise<T>, onTimeout?: () => void): Promise<T> {
  assertReachable(backend);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      noteTimeout(backend);
      onTimeout?.();
      reject(new BackendUnavailable(backend, new Error(`no answer within ${ms / 1000}s`)));
    }, ms);
  });
  const running = work();
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
    running.catch(() => {}); // settled after the timeout: nobody waits for it any more
  }
}
