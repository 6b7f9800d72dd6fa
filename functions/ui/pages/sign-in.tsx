import { Hono, type Context } from "hono";
import { requireCsrf, signInCsrf } from "../csrf.ts";
import { CSRF_FIELD } from "../keys.ts";
import { Layout, Notice, render } from "../layout.tsx";
import type { AppEnv } from "../../context.ts";
import { formField, startSession } from "../session.ts";

/** Where to go after signing in: a page of the UI only (never another site). */
export function safeNext(value: unknown): string {
  return typeof value === "string" && value.startsWith("/ui/") && !value.startsWith("//") && !value.includes("\\") ? value : "/ui/";
}

/** `/ui/sign-in`: exchange a management token for a session. */
export const signInRoutes = new Hono<AppEnv>();

async function signInPage(c: Context<AppEnv>, next: string, error?: string) {
  const csrf = await signInCsrf(c);
  return render(
    c,
    <Layout title="Sign in">
      {csrf === null ? (
        <Notice kind="error">The web UI is locked: ADMIN_TOKEN is not set on this deployment.</Notice>
      ) : (
        <form method="post" action="/ui/sign-in" class="stack">
          {error && <Notice kind="error">{error}</Notice>}
          <input type="hidden" name={CSRF_FIELD} value={csrf} />
          <input type="hidden" name="next" value={next} />
          <div class="field">
            <label for="token">Management token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required aria-describedby="token-hint" aria-invalid={error ? "true" : undefined} />
            <span id="token-hint" class="hint">
              ADMIN_TOKEN for full access, READ_TOKEN to look only. It is exchanged for a session cookie and not kept in the browser.
            </span>
          </div>
          <div>
            <button type="submit">Sign in</button>
          </div>
        </form>
      )}
    </Layout>,
    error ? 401 : 200,
  );
}

signInRoutes.get("/sign-in", (c) => signInPage(c, safeNext(c.req.query("next"))));

signInRoutes.post("/sign-in", requireCsrf("sign-in"), async (c) => {
  const token = formField(c, "token").trim();
  const next = safeNext(formField(c, "next"));
  const access = token !== "" ? await startSession(c, token) : null;
  if (!access) return signInPage(c, next, "That token is not valid here. Check it and try again.");
  return c.redirect(next, 303);
});

