import type { ProxyContext } from "../context.ts";
import type { Observer } from "../observe.ts";
import { insideCoordinator } from "../proxy/coordination.ts";

/**
 * A member asked for a virtual reports its fetches as its own, naming the virtual (`virtual` in
 * its fetch events). A miss runs in the fill coordinator when there is one, which gets the
 * member's request and nothing else: the request names the virtual in this header, and only the
 * coordinator (whose binding is not public) reads it back.
 */
export const VIA_VIRTUAL_HEADER = "x-artifact-via-virtual";

/** The member's observer while it answers for a virtual. */
export function forVirtual(observer: Observer, virtual: string): Observer {
  return {
    fetchStarted: (event) => observer.fetchStarted({ ...event, virtual }),
    fetchFinished: (event) => observer.fetchFinished({ ...event, virtual }),
    fetchFailed: (event) => observer.fetchFailed({ ...event, virtual }),
    served: (event) => observer.served({ ...event, virtual }),
    uploadFinished: (event) => observer.uploadFinished(event),
    uploadDeleted: (event) => observer.uploadDeleted(event),
    breakerChanged: (remote, state, reason) => observer.breakerChanged(remote, state, reason),
  };
}

/** A remote's route in the fill coordinator: a miss a virtual's member request handed over keeps naming that virtual. */
export function memberOfVirtual(ctx: ProxyContext, request: Request): ProxyContext {
  const virtual = insideCoordinator(ctx.env) ? request.headers.get(VIA_VIRTUAL_HEADER) : null;
  return virtual ? { ...ctx, observer: forVirtual(ctx.observer, virtual) } : ctx;
}

/** What a client sent, less the header only the Worker itself may set for its coordinator (the Worker's entry calls it). */
export function withoutInternalHeaders(request: Request): Request {
  if (!request.headers.has(VIA_VIRTUAL_HEADER)) return request;
  const headers = new Headers(request.headers);
  headers.delete(VIA_VIRTUAL_HEADER);
  return new Request(request, { headers });
}
