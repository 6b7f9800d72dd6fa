import type { LocalConfig, RepositoryConfig } from "./config/schema.ts";
import type { VirtualConfig } from "./config/virtual.ts";
import type { Env } from "./env.ts";
import { jsonError } from "./errors.ts";
import { insideCoordinator } from "./proxy/coordination.ts";

/** What a management token allows: admin = everything, read = GET/HEAD only. */
export type Access = "admin" | "read";

const encoder = new TextEncoder();

/**
 * Equal strings, in time that depends only on the presented value's length, never on where
 * the first differing byte is (no early exit), so a guesser learns nothing from timing.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  const a = encoder.encode(presented);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ (b[i % Math.max(b.length, 1)] ?? 0);
  return diff === 0;
}

/** A variable holding one token or a comma-separated list of them (several during a rotation). */
export function tokenList(value: unknown): string[] {
  if (typeof value !== "string") return [];
  return value.split(",").map((token) => token.trim()).filter((token) => token !== "");
}

/** Compares against every candidate without stopping at the first match. */
function matchesAny(presented: string, candidates: string[]): boolean {
  let found = false;
  for (const candidate of candidates) found = constantTimeEqual(presented, candidate) || found;
  return found;
}

/**
 * The token a client presents: `Authorization: Bearer <token>`, or the password of
 * `Authorization: Basic` (what pip, npm, dnf and docker send from their credential settings).
 */
export function presentedToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const [scheme, value] = [header.slice(0, header.indexOf(" ")).toLowerCase(), header.slice(header.indexOf(" ") + 1).trim()];
  if (scheme === "bearer" && value) return value;
  if (scheme === "basic") {
    try {
      const decoded = atob(value);
      const colon = decoded.indexOf(":");
      return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
    } catch {
      return null;
    }
  }
  return null;
}

export function managementAccess(env: Env, request: Request): Access | null {
  const token = presentedToken(request);
  return token === null ? null : tokenAccess(env, token);
}

/** What a management token allows (the API's Authorization header, the web UI's sign-in form). */
export function tokenAccess(env: Env, token: string): Access | null {
  if (matchesAny(token, tokenList(env.ADMIN_TOKEN))) return "admin";
  if (matchesAny(token, tokenList(env.READ_TOKEN))) return "read";
  return null;
}

/** 401 without a valid token, 403 with a read-only token on a write; null when allowed. */
export function managementDenied(env: Env, request: Request): Response | null {
  const access = managementAccess(env, request);
  const challenge = { "www-authenticate": 'Bearer realm="artifactapi"' };
  if (access === null) {
    const configured = tokenList(env.ADMIN_TOKEN).length > 0;
    const message = configured ? "a valid admin or read token is required (Authorization: Bearer <token>)" : "the management API is disabled: ADMIN_TOKEN is not set";
    return jsonError(401, "UNAUTHORIZED", message, challenge);
  }
  if (access === "read" && request.method !== "GET" && request.method !== "HEAD") {
    return jsonError(403, "FORBIDDEN", "this token is read-only; an admin token is required");
  }
  return null;
}

/**
 * Whether a client may read artifacts of a remote or a local: always for public ones; for a
 * private one, with one of its read tokens (inline or from `read_tokens_env`), a local's write
 * token, or a management token. The docker route uses this to decide on its own registry challenge.
 */
export function mayReadRemote(repository: RepositoryConfig | VirtualConfig, env: Env, request: Request): boolean {
  // A fill coordinator gets only requests the Worker has already let through (its binding is not public).
  if (!repository.private || insideCoordinator(env)) return true;
  const token = presentedToken(request);
  if (token === null) return false;
  const writers = "type" in repository && repository.type === "local" ? writeTokens(repository, env).map((entry) => entry.secret) : [];
  return matchesAny(token, [...readTokens(repository, env), ...writers]) || managementAccess(env, request) !== null;
}

/** The generic routes' answer for a private remote or local without a valid token: a Basic challenge package managers understand. */
export function remoteReadDenied(repository: RepositoryConfig | VirtualConfig, env: Env, request: Request): Response | null {
  if (mayReadRemote(repository, env, request)) return null;
  // 401 for a wrong token too: clients retry with other credentials only after a challenge.
  const kind = !("type" in repository) ? "virtual" : repository.type === "local" ? "repository" : "remote";
  return jsonError(401, "UNAUTHORIZED", `${repository.name}: this ${kind} is private; present one of its read tokens`, {
    "www-authenticate": `Basic realm="artifactapi ${repository.name}"`,
  });
}

function readTokens(repository: RepositoryConfig | VirtualConfig, env: Env): string[] {
  return [...repository.read_tokens, ...tokenList(repository.read_tokens_env ? env[repository.read_tokens_env] : undefined)];
}

/** A write token as configured: `name:secret` names it; a bare secret is named after its fingerprint. */
interface WriteToken {
  name: string | null;
  secret: string;
}

const NAMED_TOKEN = /^([A-Za-z0-9._@-]+):(.+)$/;

function writeTokens(local: LocalConfig, env: Env): WriteToken[] {
  return [...local.write_tokens, ...tokenList(local.write_tokens_env ? env[local.write_tokens_env] : undefined)].map((entry) => {
    const named = NAMED_TOKEN.exec(entry);
    return named ? { name: named[1]!, secret: named[2]! } : { name: null, secret: entry };
  });
}

/**
 * Whether a request may write to a local, decided from its headers alone (before any body is
 * read): `writer` is who writes, for `uploaded_by` ("admin", or the write token's name); else
 * 401 (no token, or one this local does not know) or 403 (a token that may only read).
 */
export type WriteAccess = { writer: string } | { status: 401 | 403; message: string };

export async function localWriteAccess(local: LocalConfig, env: Env, request: Request): Promise<WriteAccess> {
  const token = presentedToken(request);
  if (token === null) return { status: 401, message: `${local.name}: writing needs one of its write tokens (Authorization: Bearer <token>)` };
  if (matchesAny(token, tokenList(env.ADMIN_TOKEN))) return { writer: "admin" };
  // Every candidate is compared (no early exit), so timing does not tell which one matched.
  let matched: WriteToken | null = null;
  for (const candidate of writeTokens(local, env)) if (constantTimeEqual(token, candidate.secret) && matched === null) matched = candidate;
  if (matched) return { writer: matched.name ?? `token-${(await sha256Hex(matched.secret)).slice(0, 8)}` };
  if (matchesAny(token, readTokens(local, env)) || managementAccess(env, request) === "read") {
    return { status: 403, message: `${local.name}: this token may only read; writing needs one of its write tokens` };
  }
  return { status: 401, message: `${local.name}: the token is not one of its write tokens` };
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
