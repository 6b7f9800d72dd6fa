import type { StateStore } from "../../infra/state/types.ts";
import { parseChallenge, tokenCacheMs, tokenResponseSchema, tokenUrl, type Challenge } from "../../providers/docker-challenge.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { authHeader, fetchUpstream, httpUpstream, UpstreamError, type Upstream, type UpstreamCall } from "../proxy/upstream.ts";

/** The state-store marker for "this registry takes the remote's Basic credentials directly". */
const BASIC = "basic";
/** How long a registry is remembered as a Basic-auth registry (credentials are never stored). */
const BASIC_MEMORY_MS = 60 * 60_000;

export interface RegistryTarget {
  url: URL;
  /** `repository:<name>:pull` of the upstream repository. */
  scope: string;
  /** Accept sent with every call (manifest media types, or JSON for tag lists). */
  accept: string;
}

/**
 * One URL of a docker remote's registry, reached with the auth handshake clients do: send the
 * authorization remembered for the scope; on a 401 challenge obtain one (a Bearer token from
 * the realm, anonymous or with the remote's Basic credentials; or the Basic credentials
 * themselves), remember it in the state store and retry once.
 *
 * Remotes with `auth: bearer` or `auth: header` carry a ready credential: it is sent as is.
 */
export function registryUpstream(remote: RemoteConfig, env: Env, state: StateStore, target: RegistryTarget): Upstream {
  if (remote.auth && remote.auth.type !== "basic") return httpUpstream(remote, env, target.url, { headers: { accept: target.accept } });
  const key = `dockerauth:${remote.name}:${target.scope}`;
  const send = (call: UpstreamCall, authorization: string | null) => {
    const headers = new Headers({ accept: target.accept });
    for (const [name, value] of call.headers ?? []) headers.set(name, value);
    if (authorization) headers.set("authorization", authorization);
    // The Basic credentials go where the challenge says (the realm or the registry), not on every request.
    return fetchUpstream(remote, env, { method: call.method, url: target.url, headers, signal: call.signal });
  };
  const resolve = (stored: string | null) => (stored === BASIC ? basicCredentials(remote, env) : stored);

  return {
    url: target.url,
    async fetch(call) {
      const remembered = await state.get(key).catch(() => null);
      const first = await send(call, resolve(remembered));
      if (first.status !== 401) return first;
      const challenge = parseChallenge(first.headers.get("www-authenticate"));
      if (!challenge || (challenge.scheme === "basic" && (remembered === BASIC || !remote.auth))) return first;
      await first.body?.cancel();
      const obtained = challenge.scheme === "bearer" ? await fetchToken(remote, env, challenge, target.scope) : { stored: BASIC, ttlMs: BASIC_MEMORY_MS };
      await state.set(key, obtained.stored, obtained.ttlMs).catch(() => {}); // unremembered, it is asked for again next time
      return send(call, resolve(obtained.stored));
    },
  };
}

function basicCredentials(remote: RemoteConfig, env: Env): string | null {
  return authHeader(remote.auth, env)?.[1] ?? null;
}

/** Asks the challenge's realm for a pull token; the remote's Basic credentials, if any, authenticate the ask. */
async function fetchToken(remote: RemoteConfig, env: Env, challenge: Extract<Challenge, { scheme: "bearer" }>, scope: string): Promise<{ stored: string; ttlMs: number }> {
  const credentials = basicCredentials(remote, env);
  const response = await fetchUpstream(remote, env, {
    method: "GET",
    url: tokenUrl(challenge, scope),
    headers: new Headers(credentials ? { authorization: credentials } : {}),
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new UpstreamError(502, "UPSTREAM_DENIED", `the registry's token realm answered ${response.status}; check the remote's auth`);
  }
  const parsed = tokenResponseSchema.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new UpstreamError(502, "BAD_TOKEN_RESPONSE", "the registry's token realm answered without a token");
  return { stored: `Bearer ${parsed.data.token}`, ttlMs: tokenCacheMs(parsed.data.expiresInSeconds) };
}
