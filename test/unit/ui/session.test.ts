import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { currentSession, startSession } from "../../../functions/ui/session.ts";

/** A tiny app around the session functions: sign in with ?token=, then ask who the cookie says you are. */
function app(env: Record<string, string>) {
  const routes = new Hono();
  routes.post("/ui/sign-in", async (c) => c.text((await startSession(c, c.req.query("token") ?? "")) ?? "refused"));
  routes.get("/ui/whoami", async (c) => c.text((await currentSession(c))?.access ?? "nobody"));
  return {
    signIn: async (token: string, url = "http://proxy.test/ui/sign-in") => {
      const response = await routes.request(`${url}?token=${token}`, { method: "POST" }, env);
      return { access: await response.text(), setCookie: response.headers.get("set-cookie") ?? "" };
    },
    whoami: async (cookie: string, otherEnv = env) => (await routes.request("http://proxy.test/ui/whoami", { headers: { cookie } }, otherEnv)).text(),
  };
}

const cookieOf = (setCookie: string) => setCookie.split(";")[0]!;

describe("web UI sessions", () => {
  const env = { ADMIN_TOKEN: "old-admin, admin-token", READ_TOKEN: "read-token" };

  it("exchange a management token for a signed cookie that says what it allows, and never holds the token", async () => {
    const ui = app(env);
    const admin = await ui.signIn("admin-token");
    expect(admin.access).toBe("admin");
    expect(admin.setCookie).toMatch(/HttpOnly/);
    expect(admin.setCookie).toMatch(/SameSite=Strict/);
    expect(admin.setCookie).toMatch(/Path=\/ui/);
    expect(admin.setCookie).toMatch(/Max-Age=43200/);
    expect(admin.setCookie).not.toMatch(/Secure/);
    expect(admin.setCookie).not.toContain("admin-token");
    expect(await ui.whoami(cookieOf(admin.setCookie))).toBe("admin");
    const reader = await ui.signIn("read-token");
    expect(await ui.whoami(cookieOf(reader.setCookie))).toBe("read");
    expect((await ui.signIn("wrong")).access).toBe("refused");
    expect((await ui.signIn("wrong")).setCookie).toBe("");
  });

  it("is Secure over https", async () => {
    expect((await app(env).signIn("admin-token", "https://proxy.test/ui/sign-in")).setCookie).toMatch(/Secure/);
  });

  it("refuses a cookie whose access or expiry was edited, one signed with another key, and one whose token was removed", async () => {
    const ui = app(env);
    const reader = cookieOf((await ui.signIn("read-token")).setCookie);
    const [name, value] = reader.split("=") as [string, string];
    const [body, signature] = value.split(".") as [string, string];
    const payload = JSON.parse(Buffer.from(body, "base64url").toString());
    const edited = (change: Record<string, unknown>) => `${name}=${Buffer.from(JSON.stringify({ ...payload, ...change })).toString("base64url")}.${signature}`;
    expect(await ui.whoami(edited({ access: "admin" }))).toBe("nobody");
    expect(await ui.whoami(edited({ expires: payload.expires + 86400 }))).toBe("nobody");
    expect(await ui.whoami(edited({}))).toBe("read");
    // Another deployment (another admin token, so another key) does not accept it.
    expect(await ui.whoami(reader, { ...env, ADMIN_TOKEN: "someone-else" })).toBe("nobody");
    // With SESSION_SECRET the key no longer follows ADMIN_TOKEN.
    const withSecret = { ...env, SESSION_SECRET: "s3cret" };
    const admin = cookieOf((await app(withSecret).signIn("old-admin")).setCookie);
    expect(await ui.whoami(admin, withSecret)).toBe("admin");
    expect(await ui.whoami(admin, { ...withSecret, ADMIN_TOKEN: "admin-token" })).toBe("nobody");
    expect(await ui.whoami(admin, { ...withSecret, ADMIN_TOKEN: "admin-token, old-admin, new" })).toBe("admin");
  });

  it("has no sessions while ADMIN_TOKEN is unset", async () => {
    expect((await app({ READ_TOKEN: "read-token" }).signIn("read-token")).access).toBe("refused");
  });
});
