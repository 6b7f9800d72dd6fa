import { tokenList } from "../auth.ts";
import type { Env } from "../env.ts";

/**
 * The web UI's one HMAC key, for session cookies and CSRF tokens. It needs no new secret: it is
 * derived from SESSION_SECRET when that is set, else from ADMIN_TOKEN's value (so changing the
 * admin token(s) signs every session out). Null while ADMIN_TOKEN is unset: the UI is then
 * locked, as the management API is.
 */
export function signingKey(env: Env): Promise<CryptoKey> | null {
  if (tokenList(env.ADMIN_TOKEN).length === 0) return null;
  const secret = typeof env.SESSION_SECRET === "string" && env.SESSION_SECRET !== "" ? `secret:${env.SESSION_SECRET}` : `admin:${tokenList(env.ADMIN_TOKEN).join(",")}`;
  if (cachedKey?.secret !== secret) cachedKey = { secret, key: deriveKey(secret) };
  return cachedKey.key;
}

const encoder = new TextEncoder();
let cachedKey: { secret: string; key: Promise<CryptoKey> } | null = null;

async function deriveKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const derived = await crypto.subtle.sign("HMAC", material, encoder.encode("artifactapi web ui key v1"));
  return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** HMAC of `value` for one purpose (session, token, csrf), so a MAC made for one never passes as another. */
export async function mac(key: CryptoKey, purpose: string, value: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${purpose}\0${value}`))));
}

export function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): string {
  return atob(text.replace(/-/g, "+").replace(/_/g, "/"));
}

export function randomNonce(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(18)));
}

/** The form field every writing form carries its CSRF token in (csrf.ts checks it). */
export const CSRF_FIELD = "_csrf";

/** The CSRF token tied to a nonce the browser holds in an HttpOnly cookie (the session's, or the sign-in form's). */
export const csrfToken = (key: CryptoKey, nonce: string) => mac(key, "csrf", nonce);
