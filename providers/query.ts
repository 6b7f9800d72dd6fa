import { FOREIGN_PREFIX } from "./links.ts";
import type { Provider, QueryParams } from "./types.ts";

/**
 * The query parameters a provider keeps for a path. Files under `_files/` keep their whole
 * query: it is part of the URL an index linked, and only linked URLs are fetched there.
 */
export function queryParamsFor(provider: Provider, path: string): QueryParams {
  if (path.startsWith(FOREIGN_PREFIX)) return "all";
  return provider.queryParams?.(path) ?? [];
}

/**
 * A query string (with or without `?`) reduced to the parameters kept, sorted by name (then
 * value), each `name=value` pair exactly as sent: what the cache key holds and what the
 * upstream is asked, so the two never disagree. Empty pairs are dropped.
 */
export function normalizeQuery(search: string, kept: QueryParams): string {
  const pairs = search.replace(/^\?/, "").split("&").filter((pair) => pair !== "");
  const wanted = kept === "all" ? pairs : pairs.filter((pair) => kept.includes(parameterName(pair)));
  return wanted
    .map((pair) => ({ pair, name: parameterName(pair) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.pair < b.pair ? -1 : a.pair > b.pair ? 1 : 0))
    .map(({ pair }) => pair)
    .join("&");
}

function parameterName(pair: string): string {
  const equals = pair.indexOf("=");
  const name = equals < 0 ? pair : pair.slice(0, equals);
  try {
    return decodeURIComponent(name.replace(/\+/g, " "));
  } catch {
    return name;
  }
}

/** What a request's cache key is made of: the provider's key for the path and Accept variant, then the kept query. */
export interface RequestKey {
  cacheKey: string;
  /** The kept query, normalised, with its `?` (or ""): what the upstream is asked. */
  search: string;
}

export function requestKey(provider: Provider, path: string, accept: string | null, search: string): RequestKey {
  const query = normalizeQuery(search, queryParamsFor(provider, path));
  const key = provider.cacheKey(path, { accept });
  return query ? { cacheKey: `${key}?${query}`, search: `?${query}` } : { cacheKey: key, search: "" };
}
