import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { outboundDenyList } from "../../functions/proxy/network-policy.ts";

const GUARD_WORKER = "outbound-guard";
export const GUARD_SCRIPT = fileURLToPath(new URL("outbound-guard.worker.js", import.meta.url));

/** Test seam: these host names are answered by a Node function instead of the network. */
export interface OutboundSeam {
  hosts: string[];
  fetch: (request: Request) => Promise<Response>;
}

/**
 * Sends every outbound connection of the Worker through the guard (outbound-guard.worker.js):
 * the Worker's global outbound is the guard, which lets the proxy's own backends through and
 * sends everything else to a workerd network that resolves names and connects to public
 * addresses only (allow "public", deny the ranges of functions/proxy/network-policy.ts). Remotes
 * with allow_private_network fetch through PRIVATE_NETWORK, an unrestricted network binding
 * (functions/proxy/outbound.ts). Returns the main Worker's extra options and the guard Worker.
 */
export function outboundGuard(bindings: Record<string, string>, seam?: OutboundSeam) {
  const tlsOptions = { trustBrowserCas: true, trustedCertificates: extraCaCertificates() };
  return {
    worker: {
      outboundService: GUARD_WORKER,
      serviceBindings: { PRIVATE_NETWORK: { network: { allow: ["public", "private"], tlsOptions } } },
    },
    guard: {
      name: GUARD_WORKER,
      modules: true,
      scriptPath: GUARD_SCRIPT,
      // Module names are relative to modulesRoot, which defaults to the working directory: the
      // guard failed to load when `npm start`'s command ran from anywhere but the project root.
      modulesRoot: dirname(GUARD_SCRIPT),
      compatibilityDate: "2026-11-01",
      bindings: { BACKEND_HOSTS: backendHosts(bindings), ...(seam ? { TEST_HOSTS: seam.hosts } : {}) },
      serviceBindings: {
        PUBLIC_NETWORK: { network: { allow: ["public"], deny: outboundDenyList(), tlsOptions } },
        ...(seam ? { TEST_OUTBOUND: seam.fetch } : {}),
      },
    },
  };
}

/**
 * The backends the Worker is bound to, as `URL.host` spells them (host, and port unless the
 * default): the Upstash REST endpoint, the S3 endpoint, and the Postgres WebSocket bridge (or,
 * for Neon, the database host the driver opens its WebSocket to).
 */
export function backendHosts(bindings: Record<string, string>): string[] {
  const urls = [
    bindings.UPSTASH_REDIS_REST_URL,
    bindings.S3_ENDPOINT,
    bindings.PG_WS_PROXY ? `ws://${bindings.PG_WS_PROXY}` : bindings.DATABASE_URL && `wss://${new URL(bindings.DATABASE_URL).hostname}`,
  ];
  return urls.filter((url): url is string => !!url).map((url) => new URL(url).host);
}

/** As Miniflare's own outbound trusts them: certificates from NODE_EXTRA_CA_CERTS besides the browser CAs. */
export function extraCaCertificates(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return readFileSync(file, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  } catch {
    return [];
  }
}
