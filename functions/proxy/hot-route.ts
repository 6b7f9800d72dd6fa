import { mayReadRemote } from "../auth.ts";
import { configFresh, knownVersion } from "../config/cache.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import type { FetchEvent } from "../observe.ts";
import { recordHotHit, usageDue } from "../observe/recorder.ts";
import { hotBlob } from "./hot-blobs.ts";
import { hotEntry } from "./hot-entries.ts";
import { trustsForwarded } from "./proxy-base.ts";
import type { HeaderOptions } from "./response-headers.ts";
import type { IndexEntry } from "./index-entry.ts";
import { entryHeaders } from "./serve.ts";

/**
 * Hot hits answered before routing. A remote's file this isolate has just served whole from an
 * entry and a blob it keeps, asked again with the same method, URL and Accept, resolves to the
 * same entry: the route, the rules and the cache key are functions of those and of the config,
 * whose version the route is kept under. Such a request is answered here, with the same headers
 * and the same access check, without the router, the stores or the plan: on a hot 1 KiB hit they
 * cost more than the rest (npm run profile:hit).
 *
 * Anything else takes the full path: a request with a Range or a validator, a route kept under
 * an older config version, an entry no longer fresh or a blob no longer kept, a config not
 * re-checked in the last 2 s (the full path re-checks it, so evictions still apply everywhere
 * within ~2 s), usage counters due to be written, and TRUST_FORWARDED (links then depend on
 * headers).
 */
interface HotRoute {
  remote: RemoteConfig;
  indexKey: string;
  event: FetchEvent;
  headers: HeaderOptions;
  version: string | null | undefined;
  /** The headers last answered with, for the entry they were built from. */
  answered?: { entry: IndexEntry; headers: Headers };
}

const MAX_ROUTES = 10_000;

/** Insertion order is recency order. */
const routes = new Map<string, HotRoute>();

/** The request headers a hit's answer depends on besides Accept (serve.ts): such requests take the full path. */
const FULL_PATH_HEADERS = ["range", "if-none-match", "if-modified-since"];

/** Each property of a Request is a call into the runtime: read each once. */
function routeKey(request: Request, method = request.method): string | null {
  if (method !== "GET" && method !== "HEAD") return null;
  const headers = request.headers;
  for (const name of FULL_PATH_HEADERS) if (headers.has(name)) return null;
  return `${method} ${request.url}\n${headers.get("accept") ?? ""}`;
}

/** The answer to a hot hit, or null for the full path. */
export function answerHot(request: Request, env: Env): Response | null {
  if (routes.size === 0 || !configFresh() || usageDue() || trustsForwarded(env)) return null;
  const method = request.method;
  const key = routeKey(request, method);
  const route = key === null ? undefined : routes.get(key);
  if (!route || route.version !== knownVersion() || !mayReadRemote(route.remote, env, request)) return null;
  const entry = hotEntry(route.indexKey);
  const bytes = entry && hotBlob(entry.sha256);
  if (!entry || !bytes || bytes.byteLength !== entry.size) return null;
  routes.delete(key!);
  routes.set(key!, route);
  const head = method === "HEAD";
  recordHotHit(route.event, head ? 0 : entry.size);
  // A Headers object is copied into the Response inside the runtime; a plain object is read field by field.
  if (route.answered?.entry !== entry) route.answered = { entry, headers: entryHeaders(entry, route.headers) };
  return new Response(head ? null : bytes, { status: 200, headers: route.answered.headers, encodeBody: "manual" });
}

/** After the full path answered `request` with a whole hit of a remote's file: the next such request may take the hot path. */
export function rememberHotRoute(request: Request, route: Omit<HotRoute, "version">): void {
  const key = routeKey(request);
  if (key === null) return;
  routes.delete(key);
  routes.set(key, { ...route, version: knownVersion() });
  if (routes.size > MAX_ROUTES) routes.delete(routes.keys().next().value!);
}
