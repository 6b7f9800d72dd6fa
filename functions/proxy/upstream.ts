import type { RemoteAuth, RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { isPrivateHost } from "./network-policy.ts";

const MAX_REDIRECTS = 5;
const USER_AGENT = "artifactapi-edge/0.1";

/** Why an upstream could not be reached at all (as opposed to answering with an error status). */
export class UpstreamError extends Error {
  readonly status: 502 | 504;
  readonly code: string;
  constructor(status: 502 | 504, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface UpstreamRequest {
  method: "GET" | "HEAD";
  url: URL;
  headers: Headers;
  /** Decode Content-Encoding (for documents the proxy reads); otherwise bytes stay as sent. */
  decodeBody?: boolean;
}

/**
 * The remote's base_url joined with a path (percent-encoded as the client sent it). Callers
 * have refused `.` and `..` segments, so the result stays beneath base_url.
 */
export function upstreamUrl(remote: RemoteConfig, rawPath: string, search = ""): URL {
  return new URL(`${remote.base_url.replace(/\/+$/, "")}/${rawPath}${search}`);
}

/**
 * Fetches from the upstream, following redirects itself so that every hop is checked
 * against the network policy and the client never sees a redirect target. The timeout
 * covers the wait for response headers, not the body (large artifacts take long).
 */
export async function fetchUpstream(remote: RemoteConfig, env: Env, request: UpstreamRequest): Promise<Response> {
  let url = request.url;
  const headers = new Headers(request.headers);
  headers.set("user-agent", USER_AGENT);
  // Credentials are for the configured upstream only, never for a file host its indexes link to.
  const auth = request.url.origin === new URL(remote.base_url).origin ? authHeader(remote.auth, env) : null;
  if (auth) headers.set(auth[0], auth[1]);

  for (let hop = 0; ; hop++) {
    checkDestination(remote, url);
    const response = await fetchWithTimeout(url, request.method, headers, remote.upstream_timeout * 1000, request.decodeBody);
    const location = response.headers.get("location");
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location) return response;
    await response.body?.cancel();
    if (hop === MAX_REDIRECTS) throw new UpstreamError(502, "TOO_MANY_REDIRECTS", `more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    // Credentials are for the configured upstream only, never for the CDN it redirects to.
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

async function fetchWithTimeout(url: URL, method: string, headers: Headers, timeoutMs: number, decodeBody = false): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    // "manual" keeps Content-Encoding bodies as the upstream sent them: stored and replayed byte for byte.
    const encodeResponseBody = decodeBody ? "automatic" : "manual";
    return await fetch(url, { method, headers, redirect: "manual", signal: controller.signal, encodeResponseBody } as RequestInit);
  } catch (error) {
    if (controller.signal.aborted) {
      throw new UpstreamError(504, "UPSTREAM_TIMEOUT", `upstream did not answer within ${timeoutMs / 1000}s`);
    }
    throw new UpstreamError(502, "UPSTREAM_UNREACHABLE", `upstream unreachable: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
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
