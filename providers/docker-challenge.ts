import { z } from "zod";

/** A registry's `WWW-Authenticate` challenge: which scheme, and for Bearer where to get a token. */
export type Challenge =
  | { scheme: "bearer"; realm: string; service?: string; scope?: string }
  | { scheme: "basic"; realm?: string };

/**
 * Parses `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="…"`
 * or `Basic realm="…"`. Null for other schemes or a Bearer challenge without a realm.
 */
export function parseChallenge(header: string | null): Challenge | null {
  const match = header && /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return null;
  const scheme = match[1]!.toLowerCase();
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of match[2]!.matchAll(/([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g)) {
    params[key!.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, "$1") : bare!;
  }
  if (scheme === "basic") return { scheme, ...(params.realm !== undefined ? { realm: params.realm } : {}) };
  if (scheme !== "bearer" || !params.realm) return null;
  return { scheme, realm: params.realm, ...(params.service ? { service: params.service } : {}), ...(params.scope ? { scope: params.scope } : {}) };
}

/** The token endpoint's URL for a scope (the challenge's own scope when the registry named one). */
export function tokenUrl(challenge: Extract<Challenge, { scheme: "bearer" }>, scope: string): URL {
  const url = new URL(challenge.realm);
  if (challenge.service) url.searchParams.set("service", challenge.service);
  url.searchParams.set("scope", challenge.scope ?? scope);
  return url;
}

/** Token servers answer `token` (Docker) and/or `access_token` (OAuth2); lifetime defaults to 60 s. */
export const tokenResponseSchema = z
  .object({ token: z.string().min(1).optional(), access_token: z.string().min(1).optional(), expires_in: z.number().positive().optional() })
  .refine((body) => body.token !== undefined || body.access_token !== undefined, "has neither token nor access_token")
  .transform((body) => ({ token: (body.token ?? body.access_token)!, expiresInSeconds: body.expires_in ?? 60 }));

/** How long to keep a token: until 10 s before it expires (half its life for tokens shorter than 20 s). */
export function tokenCacheMs(expiresInSeconds: number): number {
  return Math.max(1, Math.floor((expiresInSeconds - Math.min(10, expiresInSeconds / 2)) * 1000));
}
