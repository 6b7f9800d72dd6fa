import type { Context } from "hono";
import type { BodyData } from "hono/utils/body";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { constantTimeEqual, tokenAccess, tokenList, type Access } from "../auth.ts";
import { clientOrigin } from "../proxy/proxy-base.ts";
import { base64url, csrfToken, fromBase64url, mac, randomNonce, signingKey } from "./keys.ts";

/**
 * Web UI sessions. Signing in exchanges a management token for an HttpOnly, SameSite=Strict
 * cookie (Secure over https) that says what the token allows, signed (keys.ts) and expiring
 * after SESSION_TTL_SECONDS. The token itself is never stored, only a keyed fingerprint of it,
 * so a session ends as soon as its token is removed from ADMIN_TOKEN / READ_TOKEN.
 */
export interface Session {
  access: Access;
  /** The CSRF token every writing form of this session carries. */
  csrf: string;
}

/**
 * What the UI's middleware found for a request: its session, and a POST's form (read once, by
 * the CSRF check). Kept beside the request rather than in Hono's variables so that pages keep
 * the app's own context type (AppEnv), which the management modules they reuse take.
 */
interface UiRequest {
  session?: Session;
  form?: BodyData;
}

const requests = new WeakMap<Request, UiRequest>();

function uiRequest(c: Context): UiRequest {
  let found = requests.get(c.req.raw);
  if (!found) requests.set(c.req.raw, (found = {}));
  return found;
}

export function setSession(c: Context, session: Session): void {
  uiRequest(c).session = session;
}

/** The signed-in session; the UI's middleware has checked there is one before any page runs. */
export function sessionOf(c: Context): Session {
  const session = uiRequest(c).session;
  if (!session) throw new Error("no session: the page is mounted outside the UI's session middleware");
  return session;
}

export function sessionIfAny(c: Context): Session | undefined {
  return uiRequest(c).session;
}

export function setForm(c: Context, form: BodyData): void {
  uiRequest(c).form = form;
}

/** A POST's form fields (parsed once, by the CSRF check). */
export function formOf(c: Context): BodyData {
  return uiRequest(c).form ?? {};
}

/** One text field of a POST's form ("" when absent). */
export function formField(c: Context, name: string): string {
  const value = formOf(c)[name];
  return typeof value === "string" ? value : "";
}

export const SESSION_TTL_SECONDS = 12 * 3600;
const SESSION_COOKIE = "artifactapi_session";
const encoder = new TextEncoder();

interface Payload {
  access: Access;
  /** Keyed fingerprint of the token signed in with. */
  token: string;
  nonce: string;
  expires: number;
}

export const cookieOptions = (c: Context) => ({
  path: "/ui",
  httpOnly: true,
  sameSite: "Strict" as const,
  secure: clientOrigin(c.req.raw, c.env).scheme === "https",
});

/** Signs in with a management token: sets the session cookie; null when the token is not valid. */
export async function startSession(c: Context, token: string): Promise<Access | null> {
  const key = signingKey(c.env);
  const access = tokenAccess(c.env, token);
  if (!key || !access) return null;
  const payload: Payload = { access, token: await mac(await key, "token", token), nonce: randomNonce(), expires: Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS };
  const body = base64url(encoder.encode(JSON.stringify(payload)));
  setCookie(c, SESSION_COOKIE, `${body}.${await mac(await key, "session", body)}`, { ...cookieOptions(c), maxAge: SESSION_TTL_SECONDS });
  return access;
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

/** The request's session, if its cookie is genuine, unexpired, and its token still one of the configured ones. */
export async function currentSession(c: Context): Promise<Session | null> {
  const key = signingKey(c.env);
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!key || !cookie) return null;
  const [body, signature] = cookie.split(".");
  if (!body || !signature || !constantTimeEqual(signature, await mac(await key, "session", body))) return null;
  let payload: Payload;
  try {
    payload = JSON.parse(fromBase64url(body)) as Payload;
  } catch {
    return null;
  }
  if (!(payload.expires > Date.now() / 1000) || (payload.access !== "admin" && payload.access !== "read")) return null;
  let known = false;
  for (const token of tokenList(payload.access === "admin" ? c.env.ADMIN_TOKEN : c.env.READ_TOKEN)) {
    known = constantTimeEqual(payload.token, await mac(await key, "token", token)) || known;
  }
  return known ? { access: payload.access, csrf: await csrfToken(await key, payload.nonce) } : null;
}
