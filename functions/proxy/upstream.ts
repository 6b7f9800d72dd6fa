import { underBaseUrl } from "../../providers/links.ts";
import type { Digest } from "../../providers/types.ts";
import type { RemoteAuth, RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import type { IndexEntry } from "./index-entry.ts";
import { isPrivateHost } from "./network-policy.ts";
import { outboundFetch } from "./outbound.ts";

const MAX_REDIRECTS = 5;
const USER_AGENT = "artifactapi-edge/0.1";

/**
 * Why an upstream could not be reached at all (as opposed to answering with an error status).
 * `upstreamFault` says whether the upstream itself failed (refused, reset, timed out) — what the
 * circuit breaker counts — or the proxy refused to follow it (a redirect loop, a private
 * address, missing credentials), which a client can provoke and the breaker must not count.
 */
export class UpstreamError extends Error {
  readonly status: 502 | 504;
  readonly code: string;
  readonly upstreamFault: boolean;
  constructor(status: 502 | 504, code: string, message: string, upstreamFault = false) {
    super(message);
    this.status = status;
    this.code = code;
    this.upstreamFault = upstreamFault;
  }
}

/** One call to an upstream: the URL is the upstream's own. */
export interface UpstreamCall {
  method: "GET" | "HEAD";
  /** Added to the upstream's own headers (conditional headers on a revalidation). */
  headers?: Headers;
  /** Aborts the call (a leader that lost its lease stops). */
  signal?: AbortSignal;
}

/**
 * Where a miss fetches from (distribution's proxy holds its remote as an object): plain HTTP,
 * a docker registry with its token handshake, a CircleCI artifact. Bodies come decoded
 * (Content-Encoding undone), so what is stored, hashed and verified is the file itself.
 */
export interface Upstream {
  readonly url: URL;
  fetch(call: UpstreamCall): Promise<Response>;
  /** A cheaper freshness check than a conditional GET (docker: a HEAD). True = the entry is current. */
  revalidate?(entry: IndexEntry): Promise<boolean>;
  /** A digest an index of the remote declared for this file; asked only on a miss. */
  declaredDigest?(): Promise<Digest | undefined>;
  /**
   * At most how long (seconds) this answer may stay fresh, whatever the remote's TTL says
   * (a virtual's merge that had to go without a member: 30 s). Undefined: the remote's TTL.
   */
  freshFor?(answer: Headers): number | undefined;
}

/** How a request reaches an upstream URL: extra headers, and whose credentials (if any) go with it. */
export interface HttpOptions {
  headers?: Record<string, string>;
  /**
   * "remote": the remote's `auth`, sent only when the URL lies under base_url (origin and path);
   * an explicit RemoteAuth: those credentials for this URL (CircleCI's token on its artifact host);
   * "none": nothing.
   */
  credentials?: "remote" | "none" | RemoteAuth;
}

export function httpUpstream(remote: RemoteConfig, env: Env, url: URL, options: HttpOptions = {}): Upstream {
  return {
    url,
    fetch: (call) => {
      const headers = new Headers(options.headers);
      for (const [name, value] of call.headers ?? []) headers.set(name, value);
      const auth = credentialsFor(remote, url, options.credentials ?? "remote");
      return fetchUpstream(remote, env, { method: call.method, url, headers, auth, signal: call.signal });
    },
  };
}

function credentialsFor(remote: RemoteConfig, url: URL, credentials: NonNullable<HttpOptions["credentials"]>): RemoteAuth | undefined {
  if (credentials === "none") return undefined;
  if (credentials !== "remote") return credentials;
  // Same origin as base_url and inside its path (providers/links.ts): where the remote's credentials may go.
  return underBaseUrl(url, remote.base_url) ? remote.auth : undefined;
}

/**
 * The remote's base_url joined with a path (percent-encoded as the client sent it). Callers
 * have refused `.` and `..` segments, so the result stays beneath base_url.
 */
export function upstreamUrl(remote: RemoteConfig, rawPath: string, search = ""): URL {
  return new URL(`${remote.base_url.replace(/\/+$/, "")}/${rawPath}${search}`);
}

export interface UpstreamRequest {
  method: "GET" | "HEAD";
  url: URL;
  headers: Headers;
  /** Credentials for `url` itself; dropped when a redirect leaves its origin. */
  auth?: RemoteAuth;
  signal?: AbortSignal;
}

/**
 * Fetches from an upstream, following redirects itself so that every hop is checked against
 * the network policy and the client never sees a redirect target. The timeout covers the wait
 * for response headers, not the body (large artifacts take long; the fill watches for stalls).
 */
export async function fetchUpstream(remote: RemoteConfig, env: Env, request: UpstreamRequest): Promise<Response> {
  let url = request.url;
  const headers = new Headers(request.headers);
  headers.set("user-agent", USER_AGENT);
  const auth = authHeader(request.auth, env);
  if (auth) headers.set(auth[0], auth[1]);

  for (let hop = 0; ; hop++) {
    checkDestination(remote, url);
    const response = await fetchWithTimeout(outboundFetch(remote, env), url, request.method, headers, remote.upstream_timeout * 1000, request.signal);
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location) return response;
    await response.body?.cancel();
    if (hop === MAX_REDIRECTS) throw new UpstreamError(502, "TOO_MANY_REDIRECTS", `more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    // Credentials are for the URL they were meant for, never for the CDN it redirects to.
    if (next.origin !== url.origin) {
      headers.delete("authorization");
      if (auth) headers.delete(auth[0]);
    }
    url = next;
  }
}

function checkDestination(remote: RemoteConfig, url: URL): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UpstreamError(502, "BAD_REDIRECT", `upstream redirected to a ${url.protocol} URL`);
  }
  if (!remote.allow_private_network && isPrivateHost(url.hostname)) {
    throw new UpstreamError(502, "PRIVATE_ADDRESS", "upstream redirected to a private or loopback address");
  }
}

async function fetchWithTimeout(send: typeof fetch, url: URL, method: string, headers: Headers, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const stop = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", stop);
  try {
    // Content-Encoding is undone here: the stored copy, its sha256 and any declared digest are of the file itself.
    return await send(url, { method, headers, redirect: "manual", signal: controller.signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (controller.signal.aborted) {
      throw new UpstreamError(504, "UPSTREAM_TIMEOUT", `upstream did not answer within ${timeoutMs / 1000}s`, true);
    }
    throw new UpstreamError(502, "UPSTREAM_UNREACHABLE", `upstream unreachable: ${(error as Error).message}`, true);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
  }
}

/** The header that carries a remote's configured credentials (secrets resolved from env). */
export function authHeader(auth: RemoteAuth | undefined, env: Env): [string, string] | null {
  if (!auth) return null;
  const secret = (value: string | undefined, envName: string | undefined) => {
    const resolved = value ?? (envName ? env[envName] : undefined);
    if (typeof resolved !== "string" || resolved === "") {
      throw new UpstreamError(502, "AUTH_NOT_CONFIGURED", `upstream credentials not set (${envName ?? "inline"})`);
    }
    return resolved;
  };
  switch (auth.type) {
    case "bearer":
      return ["authorization", `Bearer ${secret(auth.token, auth.token_env)}`];
    case "basic":
      return ["authorization", `Basic ${btoa(`${auth.username}:${secret(auth.password, auth.password_env)}`)}`];
    case "header":
      return [auth.name, secret(auth.value, auth.value_env)];
  }
}
