import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { constantTimeEqual } from "../auth.ts";
import { CSRF_FIELD, csrfToken, randomNonce, signingKey } from "./keys.ts";
import { errorPage } from "./layout.tsx";
import type { AppEnv } from "../context.ts";
import { cookieOptions, sessionOf, setForm } from "./session.ts";

/**
 * CSRF protection: every form that writes carries `_csrf`, an HMAC of a nonce the browser
 * holds in an HttpOnly cookie — the session's nonce once signed in, a sign-in nonce before.
 * A POST without the right token is refused (403) before anything else happens; SameSite=Strict
 * cookies are the second line.
 */
const SIGN_IN_COOKIE = "artifactapi_sign_in";

/** The sign-in form's token, setting a fresh nonce cookie when there is none; null when the UI is locked. */
export async function signInCsrf(c: Context): Promise<string | null> {
  const key = signingKey(c.env);
  if (!key) return null;
  let nonce = getCookie(c, SIGN_IN_COOKIE);
  if (!nonce) {
    nonce = randomNonce();
    setCookie(c, SIGN_IN_COOKIE, nonce, { ...cookieOptions(c), maxAge: 3600 });
  }
  return csrfToken(await key, nonce);
}

async function expectedSignInCsrf(c: Context): Promise<string | null> {
  const key = signingKey(c.env);
  const nonce = getCookie(c, SIGN_IN_COOKIE);
  return key && nonce ? csrfToken(await key, nonce) : null;
}

/** Refuses a POST whose form lacks the CSRF token of its session (or, for sign-in, of its sign-in nonce). */
export function requireCsrf(kind: "session" | "sign-in"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    const form = await c.req.parseBody();
    setForm(c, form);
    const expected = kind === "session" ? sessionOf(c).csrf : await expectedSignInCsrf(c);
    if (!csrfMatches(form[CSRF_FIELD], expected)) return csrfRefused(c);
    return next();
  };
}

/** Whether a form's `_csrf` field is the expected token. */
export function csrfMatches(presented: unknown, expected: string | null): boolean {
  return typeof presented === "string" && expected !== null && constantTimeEqual(presented, expected);
}

export function csrfRefused(c: Context): Promise<Response> {
  return errorPage(c, 403, "This form was not sent from this site's own page (its CSRF token is missing or wrong). Reload the page and try again.");
}
