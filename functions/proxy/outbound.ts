import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";

/**
 * The fetch that reaches a remote's upstream. Under `npm start` (and a self-hosted workerd set
 * up the same way) the global fetch goes through the outbound guard, which resolves each name and
 * connects to public addresses only; a remote with allow_private_network reaches its upstream
 * through the unrestricted PRIVATE_NETWORK binding instead. On Cloudflare neither binding exists:
 * the global fetch is used and the platform refuses private destinations itself.
 */
export function outboundFetch(remote: RemoteConfig, env: Env): typeof fetch {
  const network = remote.allow_private_network ? env.PRIVATE_NETWORK : undefined;
  return network ? (input, init) => network.fetch(input, init) : fetch;
}
