import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { except } from "hono/combine";
import { assetRoutes } from "./assets.ts";
import { requireCsrf } from "./csrf.ts";
import { errorPage } from "./layout.tsx";
import { browseRoutes } from "./pages/browse.tsx";
import { eventsRoutes } from "./pages/events.tsx";
import { isFileUpload, localFilesRoutes } from "./pages/local-files.tsx";
import { overviewRoutes } from "./pages/overview.tsx";
import { packagesRoutes } from "./pages/packages.tsx";
import { repositoryRoutes } from "./pages/repository.tsx";
import { repositoriesRoutes } from "./pages/repositories.tsx";
import { signInRoutes } from "./pages/sign-in.tsx";
import type { AppEnv } from "../context.ts";
import { currentSession, endSession, sessionOf, setSession } from "./session.ts";

/**
 * The web UI under /ui/: pages rendered on the server (Hono JSX), one stylesheet and one small
 * script served as files. Reading pages work without JavaScript; every write is a form POST
 * that carries a CSRF token and needs an admin session.
 */
export const uiRoutes = new Hono<AppEnv>();

const MAX_FORM_BYTES = 256 * 1024;

/** No inline script or style anywhere: the page's own files only, nothing framed, forms to this site only. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

uiRoutes.use(async (c, next) => {
  await next();
  c.res.headers.set("content-security-policy", CONTENT_SECURITY_POLICY);
  c.res.headers.set("x-content-type-options", "nosniff");
  c.res.headers.set("referrer-policy", "same-origin");
  c.res.headers.set("x-frame-options", "DENY");
});
// The upload form streams its file and checks its own CSRF token (pages/local-files.tsx); every other form is small and read whole.
uiRoutes.use(except(isFileUpload, bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => errorPage(c, 400, `Forms are limited to ${MAX_FORM_BYTES / 1024} KiB.`) })));

uiRoutes.route("/assets", assetRoutes);
uiRoutes.route("/", signInRoutes);

// Everything below needs a session: a page asks for one (sign-in, then back here); a POST is refused.
uiRoutes.use(async (c, next) => {
  const session = await currentSession(c);
  if (!session) {
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      const url = new URL(c.req.url);
      return c.redirect(`/ui/sign-in?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    return errorPage(c, 401, "You are not signed in (or your session ended). Sign in and try again.");
  }
  setSession(c, session);
  return next();
});
uiRoutes.use(except(isFileUpload, requireCsrf("session")));

uiRoutes.post("/sign-out", (c) => {
  endSession(c);
  return c.redirect("/ui/sign-in", 303);
});

// Every other POST writes: admin sessions only, whatever the page rendered.
uiRoutes.use(async (c, next) => {
  if (c.req.method === "POST" && sessionOf(c).access !== "admin") return errorPage(c, 403, "This session is read-only: sign in with an admin token to change anything.");
  return next();
});

uiRoutes.route("/", overviewRoutes);
uiRoutes.route("/repositories", repositoriesRoutes);
uiRoutes.route("/repositories", repositoryRoutes);
uiRoutes.route("/browse", localFilesRoutes);
uiRoutes.route("/browse", browseRoutes);
uiRoutes.route("/browse", packagesRoutes);
uiRoutes.route("/events", eventsRoutes);
uiRoutes.all("*", (c) => errorPage(c, 404, "There is no such page."));
