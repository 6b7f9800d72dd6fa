import type { StateStore } from "../../infra/state/types.ts";
import { parseChallenge, tokenCacheMs, tokenResponseSchema, tokenUrl, type Challenge } from "../../providers/docker-challenge.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { authHeader, fetchUpstream, UpstreamError, type UpstreamRequest } from "../proxy/upstream.ts";

/** The state-store marker for "this registry takes the remote's Basic credentials directly". */
const BASIC = "basic";
/** How long a registry is remembered as a Basic-auth registry (credentials are never stored). */
const BASIC_MEMORY_MS = 60 * 60_000;

/**
 * Upstream requests for one repository of a docker remote, with the registry auth handshake
 * clients do: send the authorization remembered for the scope; on a 401 challenge obtain one
 * (a Bearer token from the realm, anonymous or with the remote's Basic credentials; or the
 * Basic credentials themselves), remember it in the state store and retry once.
 *
 * Remotes with `auth: bearer` or `auth: header` carry a ready credential: it is sent as is.
 */
export function registryFetch(remote: RemoteConfig, env: Env, state: StateStore, scope: string): (request: UpstreamRequest) => Promise<Response> {
  if (remote.auth && remote.auth.type !== "basic") return (request) => fetchUpstream(remote, env, request);
  // The Basic credentials go where the challenge says (the realm or the registry), not on every request.
  const bare: RemoteConfig = { ...remote, auth: undefined };
  const key = `dockerauth:${remote.name}:${scope}`;
  const send = (request: UpstreamRequest, authorization: string | null) => {
    const headers = new Headers(request.headers);
    if (authorization) headers.set("authorization", authorization);
    return fetchUpstream(bare, env, { ...request, headers });
  };
  const resolve = (stored: string | null) => (stored === BASIC ? basicCredentials(remote, env) : stored);

  return async (request) => {
    const remembered = await state.get(key);
    const first = await send(request, resolve(remembered));
    if (first.status !== 401) return first;
    const challenge = parseChallenge(first.headers.get("www-authenticate"));
    if (!challenge || (challenge.scheme === "basic" && (remembered === BASIC || !remote.auth))) return first;
    await first.body?.cancel();
    const obtained = challenge.scheme === "bearer" ? await fetchToken(bare, remote, env, challenge, scope) : { stored: BASIC, ttlMs: BASIC_MEMORY_MS };
    await state.set(key, obtained.stored, obtained.ttlMs);
    return send(request, resolve(obtained.stored));
  };
}

function basicCredentials(remote: RemoteConfig, env: Env): string | null {
  return authHeader(remote.auth, env)?.[1] ?? null;
}

/** Asks the challenge's realm for a pull token; the remote's Basic credentials, if any, authenticate the ask. */
async function fetchToken(
  bare: RemoteConfig,
  remote: RemoteConfig,
  env: Env,
  challenge: Extract<Challenge, { scheme: "bearer" }>,
  scope: string,
): Promise<{ stored: string; ttlMs: number }> {
  const credentials = basicCredentials(remote, env);
  const response = await fetchUpstream(bare, env, {
    method: "GET",
    url: tokenUrl(challenge, scope),
    headers: new Headers(credentials ? { authorization: credentials } : {}),
    decodeBody: true,
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new UpstreamError(502, "UPSTREAM_DENIED", `the registry's token realm answered ${response.status}; check the remote's auth`);
  }
  const parsed = tokenResponseSchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new UpstreamError(502, "BAD_TOKEN_RESPONSE", "the registry's token realm answered without a token");
  return { stored: `Bearer ${parsed.data.token}`, ttlMs: tokenCacheMs(parsed.data.expiresInSeconds) };
}
