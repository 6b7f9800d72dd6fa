import type { Context } from "hono";
import type { Background } from "./background.ts";
import type { Env } from "./env.ts";
import type { Observer } from "./observe.ts";
import type { Stores } from "./stores.ts";

/** What every request carries: the Worker's bindings, and the stores and helpers the app middleware opened for it. */
export interface RequestScope {
  stores: Stores;
  background: Background;
  observer: Observer;
}

/** The Hono environment of every route: handlers get their stores from here, never from an adapter. */
export interface AppEnv {
  Bindings: Env;
  Variables: RequestScope & {
    /** The request as the runtime delivered it (a mapped hostname's is re-dispatched on its canonical path). */
    arrived: Request;
  };
}

/** What the request path (fetch-through) needs from a request. */
export interface ProxyContext extends RequestScope {
  env: Env;
}

export function proxyContext(c: Context<AppEnv>): ProxyContext {
  // c.get, not c.var: Hono builds a new object for every read of c.var.
  return { stores: c.get("stores"), env: c.env, background: c.get("background"), observer: c.get("observer") };
}
