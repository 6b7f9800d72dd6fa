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
  Variables: RequestScope;
}

/** What the request path (fetch-through) needs from a request. */
export interface ProxyContext extends RequestScope {
  env: Env;
}

export function proxyContext(c: Context<AppEnv>): ProxyContext {
  return { stores: c.var.stores, env: c.env, background: c.var.background, observer: c.var.observer };
}
