import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, seriousAccessibilityViolations } from "../support/browser.ts";
import { json, sha256 } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";
import { npm, publishPackage, startVerdaccio, writePublisherNpmrc, type Verdaccio } from "../support/verdaccio.ts";

const run = promisify(execFile);
/** Kept with the test output (gitignored): one screenshot per page. */
const SCREENSHOTS = join(import.meta.dirname, "../../.test-tmp/ui-screenshots");

/**
 * The web UI in Debian's Chromium, against the proxy as `npm start` runs it, with a real origin
 * (generic files) and a real verdaccio (npm) upstream.
 */
describe("web UI in a real browser", () => {
  const origin = new Origin();
  const admin = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const files = uniqueName("files");
  const npmRemote = uniqueName("npm");
  const local = uniqueName("uploads");
  const npmLocal = uniqueName("team-npm");
  const MAX_UPLOAD = 8 * 1024 * 1024;
  const one = randomBytes(4096);
  let work: string;
  let verdaccio: Verdaccio | null = null;
  let stack: TestStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  const url = (path: string) => `${stack.url}${path}`;
  const fileUrl = (path: string) => url(`/api/v1/remote/${files}/${path}`);
  const localUrl = (path: string) => url(`/api/v1/local/${local}/${path}`);
  const api = async (path: string) => json(await fetch(url(`/api/v2${path}`), { headers: { authorization: `Bearer ${admin}` } }));

  /** curl as a user would run it; returns the x-artifact-source the proxy answered with. */
  const curlSource = async (path: string) => {
    const { stdout } = await run("curl", ["-sS", "-f", "-D", "-", "-o", "/dev/null", fileUrl(path)]);
    return /x-artifact-source: (\w+)/i.exec(stdout)?.[1];
  };

  const newPage = async (options: Parameters<Browser["newContext"]>[0] = {}) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    contexts.push(context);
    return context.newPage();
  };

  const signIn = async (page: Page, token: string) => {
    await page.goto(url("/ui/"));
    await page.getByLabel("Management token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(url("/ui/"));
  };

  /** axe finds no serious or critical violation; a screenshot goes to the test output. */
  const checkPage = async (page: Page, name: string) => {
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    work = await mkdtemp(join(tmpdir(), "ui-e2e-"));
    await writeFile(join(work, "empty-npmrc"), "");
    origin
      .serve("/pkg/a/one.bin", one)
      .serve("/pkg/a/two.bin", randomBytes(1024))
      .serve("/pkg/b/readme.txt", "read me")
      .serve("/live/event.bin", "an event");
    await origin.start();
    verdaccio = await startVerdaccio(join(work, "verdaccio"));
    const publisherRc = join(work, "publisher-npmrc");
    await writePublisherNpmrc(verdaccio.url, publisherRc);
    await publishPackage(verdaccio.url, join(work, "ui-demo"), { name: "ui-demo", version: "1.0.0", dependencies: {}, main: "module.exports = 'set up by the web UI';\n" }, {
      userconfig: publisherRc,
      globalconfig: join(work, "empty-npmrc"),
    });
    stack = await startTestStack({
      remotes: {
        [files]: { base_url: origin.url, allow_private_network: true, description: "release files", blocklist: ["^secret/"] },
        [npmRemote]: { base_url: verdaccio.url, package: "npm", allow_private_network: true },
        [local]: { type: "local", package: "generic", description: "team uploads", max_upload_size: "8 MiB" },
        [npmLocal]: { type: "local", package: "npm" },
      },
      env: { ADMIN_TOKEN: admin, READ_TOKEN: reader },
    });
    browser = await launchChromium();
  });

  // Each test's browser contexts end with it: an events page left open would keep its stream.
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.destroy();
    await verdaccio?.stop();
    await origin.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("signs in with a management token, refuses a wrong one, and signs out", async () => {
    const page = await newPage();
    await page.goto(url("/ui/repositories"));
    expect(new URL(page.url()).pathname).toBe("/ui/sign-in");
    await checkPage(page, "sign-in");

    await page.getByLabel("Management token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("not valid");
    expect((await page.context().cookies()).map((cookie) => cookie.name)).not.toContain("artifactapi_session");

    await page.getByLabel("Management token").fill(admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(url("/ui/repositories"));
    const session = (await page.context().cookies()).find((cookie) => cookie.name === "artifactapi_session")!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/ui" });
    expect(session.expires * 1000 - Date.now()).toBeGreaterThan(11 * 3600_000);
    expect(session.value).not.toContain(admin);
    expect(await page.evaluate("localStorage.length + sessionStorage.length")).toBe(0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/ui\/sign-in/);
    expect((await page.context().cookies()).map((cookie) => cookie.name)).not.toContain("artifactapi_session");
    await page.goto(url("/ui/"));
    expect(new URL(page.url()).pathname).toBe("/ui/sign-in");
  });

  it("finds a file fetched with curl in Browse by prefix, shows it, evicts it, and the next curl is a miss", async () => {
    expect(await curlSource("pkg/a/one.bin")).toBe("remote");
    expect(await curlSource("pkg/a/two.bin")).toBe("remote");
    expect(await curlSource("pkg/b/readme.txt")).toBe("remote");
    const page = await newPage();
    await signIn(page, admin);
    await page.getByRole("link", { name: "Browse" }).click();
    await page.getByRole("link", { name: files }).click();
    await checkPage(page, "browse");
    await page.getByLabel("Path starts with").fill("pkg/a/");
    await page.getByRole("button", { name: "Show" }).click();
    // The artifact's row is written after the response: it shows up within moments.
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByRole("link", { name: "pkg/a/one.bin", exact: true }).count();
      }, { timeout: 10_000 })
      .toBe(1);
    expect(await page.getByRole("link", { name: "pkg/b/readme.txt", exact: true }).count()).toBe(0);

    await page.getByRole("link", { name: "pkg/a/one.bin", exact: true }).click();
    await expect.poll(() => page.locator("main").textContent()).toContain(sha256(one));
    expect(await page.locator("main").textContent()).toContain("4,096 bytes");
    await checkPage(page, "object");
    const download = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]).then(([d]) => d);
    expect(sha256(await readFile((await download.path())!))).toBe(sha256(one));

    await page.getByRole("link", { name: "Evict…" }).click();
    await checkPage(page, "evict-confirmation");
    await page.getByRole("button", { name: "Evict" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Evicted pkg/a/one.bin");
    expect(await page.getByRole("link", { name: "pkg/a/one.bin", exact: true }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "pkg/a/two.bin", exact: true }).count()).toBe(1);

    expect(await curlSource("pkg/a/one.bin")).toBe("remote");
    expect(origin.count("/pkg/a/one.bin")).toBe(2);
  });

  it("shows a live event within 2 s of a fetch, filters by type, and pauses", async () => {
    const page = await newPage();
    await signIn(page, admin);
    await page.goto(url("/ui/events"));
    await expect.poll(() => page.locator("#event-state").textContent()).toBe("Live");
    const fetched = await fetch(fileUrl("live/event.bin"));
    expect(await fetched.text()).toBe("an event");
    const started = Date.now();
    await page.locator("#event-list li[data-type='fetch.finished']", { hasText: "live/event.bin" }).waitFor({ timeout: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_000);

    await page.getByLabel("Event type").selectOption("fetch.started");
    await expect.poll(() => page.locator("#event-list li[data-type='fetch.finished']:visible").count()).toBe(0);
    expect(await page.locator("#event-list li[data-type='fetch.started']:visible").count()).toBeGreaterThan(0);
    await page.getByLabel("Event type").selectOption("");
    await page.getByRole("button", { name: "Pause" }).click();
    expect(await page.locator("#event-state").textContent()).toBe("Paused");
    await checkPage(page, "events");
    await page.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.locator("#event-state").textContent()).toBe("Live");
  });

  it("Set me up shows this host's URL, and its npm snippet in an .npmrc makes npm install work", async () => {
    const page = await newPage();
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: stack.url });
    await signIn(page, admin);
    await page.getByRole("link", { name: "Repositories" }).click();
    await checkPage(page, "repositories");
    await page.getByRole("link", { name: `Set me up: ${npmRemote}` }).click();
    const snippet = (await page.locator("#snippet-npmrc").textContent())!;
    expect(snippet).toBe(`registry=${stack.url}/api/v1/remote/${npmRemote}/\n`);
    await page.getByRole("button", { name: /^Copy: npm, pnpm and yarn 1/ }).click();
    await expect.poll(() => page.locator("#snippet-npmrc-status").textContent()).toBe("Copied");
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(snippet);
    await checkPage(page, "repository-npm");
    await page.goto(url(`/ui/repositories/remotes/${npmRemote}#set-me-up`));
    await page.screenshot({ path: join(SCREENSHOTS, "set-me-up.png") });

    const project = join(work, "project");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, dependencies: { "ui-demo": "1.0.0" } }));
    await writeFile(join(project, ".npmrc"), snippet);
    await npm(project, ["install", "--cache", join(work, "npm-cache")], { userconfig: join(project, ".npmrc"), globalconfig: join(work, "empty-npmrc") });
    const { stdout } = await run(process.execPath, ["-e", "console.log(require('ui-demo'))"], { cwd: project });
    expect(stdout.trim()).toBe("set up by the web UI");
    const lock = JSON.parse(await readFile(join(project, "package-lock.json"), "utf8"));
    expect(lock.packages["node_modules/ui-demo"].resolved).toBe(`${stack.url}/api/v1/remote/${npmRemote}/ui-demo/-/ui-demo-1.0.0.tgz`);

    // The package view: what npm fetched, by package and version.
    await page.goto(url(`/ui/browse/${npmRemote}`));
    await page.getByRole("link", { name: "Packages and versions" }).click();
    await checkPage(page, "packages");
    await page.getByRole("link", { name: "ui-demo", exact: true }).click();
    await expect.poll(() => page.locator("main").textContent()).toContain("Versions in the cached index: 1. Cached: 1.");
    expect(await page.getByRole("row", { name: /^1\.0\.0 cached$/ }).count()).toBe(1);
  });

  it("uploads a file to a generic local through the form, shows it in Browse, serves it byte-identical, and deletes it after a confirmation", async () => {
    // Over 5 MiB, so the streamed upload goes up in parts, as a large curl -T does.
    const release = randomBytes(6 * 1024 * 1024 + 12345);
    const releasePath = join(work, "app-1.0.bin");
    await writeFile(releasePath, release);
    const page = await newPage();
    await signIn(page, admin);
    await page.getByRole("link", { name: "Browse" }).click();
    await page.getByRole("link", { name: local, exact: true }).click();
    expect(await page.locator("main").textContent()).toContain("No file is uploaded yet.");
    await checkPage(page, "browse-local-empty");

    await page.getByLabel("Upload to folder").fill("release/v1");
    await page.getByLabel("File", { exact: true }).setInputFiles(releasePath);
    const [uploaded] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Upload" }).click()]);
    expect(uploaded.status()).toBe(303);
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Uploaded release/v1/app-1.0.bin");
    expect(new URL(page.url()).searchParams.get("prefix")).toBe("release/v1/");
    await checkPage(page, "browse-local");

    // A client gets the very bytes, at the local's own URL.
    const downloaded = join(work, "curl-app-1.0.bin");
    await run("curl", ["-sS", "-f", "-o", downloaded, localUrl("release/v1/app-1.0.bin")]);
    expect(sha256(await readFile(downloaded))).toBe(sha256(release));

    await page.getByRole("link", { name: "release", exact: true }).click();
    expect(await page.getByRole("link", { name: "v1/", exact: true }).count()).toBe(1);
    await page.getByRole("link", { name: "v1/", exact: true }).click();
    await page.getByRole("link", { name: "app-1.0.bin", exact: true }).click();
    const facts = (await page.locator("main").textContent())!;
    expect(facts).toContain(sha256(release));
    expect(facts).toContain(`${release.byteLength.toLocaleString("en-US")} bytes`);
    expect(facts).toMatch(/Uploaded by\s*admin/);
    expect(facts).toContain(localUrl("release/v1/app-1.0.bin"));
    await checkPage(page, "local-file");
    const download = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]).then(([d]) => d);
    expect(sha256(await readFile((await download.path())!))).toBe(sha256(release));

    // The same name again: this local keeps files (allow_overwrite: false), and says so.
    await page.goto(url(`/ui/browse/${local}?prefix=release/v1/`));
    await page.getByLabel("File", { exact: true }).setInputFiles(releasePath);
    const [again] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Upload" }).click()]);
    expect(again.status()).toBe(409);
    expect(await page.getByRole("alert").textContent()).toContain("does not allow overwrites");

    // Over max_upload_size: refused with the limit named, nothing kept.
    const tooLarge = join(work, "too-large.bin");
    await writeFile(tooLarge, randomBytes(MAX_UPLOAD + 1));
    await page.goto(url(`/ui/browse/${local}?prefix=release/v1/`));
    await page.getByLabel("File", { exact: true }).setInputFiles(tooLarge);
    const [refused] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Upload" }).click()]);
    expect(refused.status()).toBe(413);
    expect(await page.getByRole("alert").textContent()).toContain("max_upload_size");
    expect((await fetch(localUrl("release/v1/too-large.bin"))).status).toBe(404);

    await page.goto(url(`/ui/browse/${local}?prefix=release/v1/`));
    await page.getByRole("link", { name: "Delete release/v1/app-1.0.bin" }).click();
    await checkPage(page, "delete-confirmation");
    await page.getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Deleted release/v1/app-1.0.bin");
    expect(await page.getByRole("link", { name: "app-1.0.bin", exact: true }).count()).toBe(0);
    expect((await fetch(localUrl("release/v1/app-1.0.bin"))).status).toBe(404);
  });

  it("a local's package view lists what npm published: versions, tags and files", async () => {
    const registry = url(`/api/v1/local/${npmLocal}`);
    const userconfig = join(work, "team-npmrc");
    await writeFile(userconfig, `${registry.replace(/^http:/, "")}/:_authToken=${admin}\n`);
    for (const version of ["1.0.0", "1.1.0"]) {
      await publishPackage(registry, join(work, `team-lib-${version}`), { name: "team-lib", version, dependencies: {}, main: "module.exports = 1;\n" }, { userconfig, globalconfig: join(work, "empty-npmrc") });
    }
    const page = await newPage();
    await signIn(page, admin);
    await page.goto(url(`/ui/browse/${npmLocal}`));
    await page.getByRole("link", { name: "Packages and versions" }).click();
    await checkPage(page, "local-packages");
    await page.getByRole("link", { name: "team-lib", exact: true }).click();
    await expect.poll(() => page.locator("main").textContent()).toContain("Published versions: 2.");
    const row = (version: string) => page.locator("tr", { has: page.getByRole("rowheader", { name: version, exact: true }) });
    expect(await row("1.1.0").locator("td").allTextContents()).toEqual(["latest", expect.stringMatching(/^\d{4}-/), "admin", "team-lib-1.1.0.tgz"]);
    expect(await row("1.0.0").locator("td").allTextContents()).toEqual(["", expect.stringMatching(/^\d{4}-/), "admin", "team-lib-1.0.0.tgz"]);
    await checkPage(page, "local-package");
    await page.getByRole("link", { name: "team-lib-1.0.0.tgz" }).click();
    expect(await page.locator("main").textContent()).toContain("team-lib 1.0.0");
  });

  it("saving a remote with an invalid regex shows the error next to the field and changes nothing", async () => {
    const before = await api(`/remotes/${files}`);
    const page = await newPage();
    await signIn(page, admin);
    await page.goto(url(`/ui/repositories/remotes/${files}?test_path=secret/key.pem`));
    await expect.poll(() => page.locator("[data-decision]").textContent()).toBe("denied");
    expect(await page.locator("main").textContent()).toContain("path matches blocklist pattern ^secret/");
    await checkPage(page, "repository");

    await page.getByLabel("Allowed paths (patterns)").fill("^pkg/(\n");
    await page.getByLabel("Description").fill("changed");
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.getByRole("button", { name: "Save" }).click()]);
    expect(response.status()).toBe(400);
    const error = page.locator("#field-patterns-error");
    expect(await error.textContent()).toMatch(/^patterns\[0\]: is not a supported regular expression/);
    expect(await page.getByLabel("Allowed paths (patterns)").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Allowed paths (patterns)").getAttribute("aria-describedby")).toContain("field-patterns-error");
    expect(await page.getByLabel("Allowed paths (patterns)").inputValue()).toBe("^pkg/(");
    expect(await page.getByRole("alert").first().textContent()).toContain("Not saved");
    await checkPage(page, "repository-field-error");
    expect(await api(`/remotes/${files}`)).toEqual(before);

    // The same form saves once the pattern is fixed.
    await page.getByLabel("Allowed paths (patterns)").fill("^pkg/\n^live/");
    await page.getByRole("button", { name: "Save" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain("Saved (updated)");
    expect(await api(`/remotes/${files}`)).toMatchObject({ patterns: ["^pkg/", "^live/"], description: "changed", blocklist: ["^secret/"] });
  });

  it("a read-token session shows no write controls, and a forged POST with its cookie gets 403", async () => {
    const kept = await fetch(localUrl("kept/notes.txt"), { method: "PUT", body: "kept", headers: { authorization: `Bearer ${admin}` } });
    expect(kept.status).toBe(201);
    const page = await newPage();
    await signIn(page, reader);
    const writingForms = page.locator('form[method="post"]:not([action="/ui/sign-out"])');
    const localPages = [`/ui/browse/${local}`, `/ui/browse/${local}?prefix=kept/`, `/ui/browse/${local}/file?path=kept/notes.txt`];
    for (const path of ["/ui/", "/ui/repositories", `/ui/repositories/remotes/${files}`, `/ui/browse/${files}?prefix=pkg/`, "/ui/events", ...localPages]) {
      await page.goto(url(path));
      expect(await writingForms.count(), path).toBe(0);
      expect(await page.locator('input[type="file"]').count(), path).toBe(0);
      expect(await page.getByRole("link", { name: /^(Evict|New remote|New virtual|Delete)/ }).count(), path).toBe(0);
    }
    expect(await page.getByRole("link", { name: "Download" }).count()).toBe(1);
    await page.goto(url(`/ui/repositories/remotes/${files}`));
    await checkPage(page, "repository-read-only");
    const before = await api(`/remotes/${files}`);
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const forged = await page.request.post(url(`/ui/repositories/remotes/${files}`), { form: { _csrf: csrf, description: "forged", base_url: origin.url, package: "generic" } });
    expect(forged.status()).toBe(403);
    const evict = await page.request.post(url(`/ui/browse/${files}/evict`), { form: { _csrf: csrf, path: "pkg/a/two.bin" } });
    expect(evict.status()).toBe(403);
    const deleted = await page.request.post(url(`/ui/browse/${local}/delete`), { form: { _csrf: csrf, path: "kept/notes.txt" } });
    expect(deleted.status()).toBe(403);
    const upload = await page.request.post(url(`/ui/browse/${local}/upload`), { multipart: { _csrf: csrf, folder: "kept/", file: { name: "forged.txt", mimeType: "text/plain", buffer: Buffer.from("forged") } } });
    expect(upload.status()).toBe(403);
    expect(await (await fetch(localUrl("kept/notes.txt"))).text()).toBe("kept");
    expect((await fetch(localUrl("kept/forged.txt"))).status).toBe(404);
    expect(await api(`/remotes/${files}`)).toEqual(before);
    expect((await api(`/remotes/${files}/objects?prefix=pkg/a/two.bin`)).objects).toHaveLength(1);
  });

  it("refuses a POST without its CSRF token, or with another session's", async () => {
    const page = await newPage();
    await signIn(page, admin);
    const other = await newPage();
    await signIn(other, admin);
    const otherCsrf = await other.locator('input[name="_csrf"]').first().inputValue();
    const forms: Record<string, string>[] = [{ path: "pkg/a/two.bin" }, { path: "pkg/a/two.bin", _csrf: otherCsrf }];
    for (const form of forms) {
      const response = await page.request.post(url(`/ui/browse/${files}/evict`), { form });
      expect(response.status()).toBe(403);
      expect(await response.text()).toContain("CSRF token");
    }
    // The upload form checks its own token, before the file's bytes.
    for (const fields of [{}, { _csrf: otherCsrf }] as Record<string, string>[]) {
      const response = await page.request.post(url(`/ui/browse/${local}/upload`), { multipart: { ...fields, folder: "csrf/", file: { name: "x.txt", mimeType: "text/plain", buffer: Buffer.from("x") } } });
      expect(response.status()).toBe(403);
      expect(await response.text()).toContain("CSRF token");
    }
    expect((await fetch(localUrl("csrf/x.txt"))).status).toBe(404);
    const signInWithoutCsrf = await page.request.post(url("/ui/sign-in"), { form: { token: admin } });
    expect(signInWithoutCsrf.status()).toBe(403);
    expect((await api(`/remotes/${files}/objects?prefix=pkg/a/two.bin`)).objects).toHaveLength(1);
  });

  it("every page has no serious or critical axe violation in light and dark, reads without JavaScript, fits 360 px, and runs no inline script", async () => {
    // Pages the other tests have not checked yet, and in dark mode one page of each kind.
    const pages = {
      light: ["/ui/?window=1h", "/ui/repositories/new/remotes", "/ui/repositories/new/virtuals", "/ui/browse", `/ui/browse/${files}?sort=size`, "/ui/no-such-page"],
      dark: ["/ui/", `/ui/repositories/remotes/${files}?test_path=pkg/a/x`, `/ui/browse/${files}?prefix=pkg/a/`, "/ui/events", `/ui/browse/${local}?prefix=kept/`],
    };
    for (const scheme of ["light", "dark"] as const) {
      const page = await newPage({ colorScheme: scheme });
      const violations: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      });
      await signIn(page, admin);
      for (const path of pages[scheme]) {
        const response = await page.goto(url(path));
        const policy = response!.headers()["content-security-policy"]!;
        expect(policy).toContain("script-src 'self'");
        expect(policy).not.toContain("unsafe-inline");
        expect(await seriousAccessibilityViolations(page)).toEqual([]);
      }
      await page.goto(url("/ui/"));
      await page.screenshot({ path: join(SCREENSHOTS, `overview-${scheme}.png`) });
      expect(violations).toEqual([]);
    }

    const narrow = await newPage({ viewport: { width: 360, height: 740 } });
    await signIn(narrow, admin);
    for (const path of [...pages.light, ...pages.dark, "/ui/repositories", `/ui/repositories/remotes/${npmRemote}`, `/ui/browse/${local}/file?path=kept/notes.txt`]) {
      await narrow.goto(url(path));
      expect(await narrow.evaluate<number>("document.documentElement.scrollWidth"), path).toBeLessThanOrEqual(360);
    }
    await narrow.goto(url("/ui/"));
    await narrow.screenshot({ path: join(SCREENSHOTS, "overview-360px.png"), fullPage: true });

    const noScript = await newPage({ javaScriptEnabled: false });
    await signIn(noScript, admin);
    expect(await noScript.getByRole("heading", { name: "Backends" }).count()).toBe(1);
    await noScript.goto(url(`/ui/browse/${files}?prefix=pkg/a/`));
    expect(await noScript.getByRole("link", { name: "pkg/a/two.bin", exact: true }).count()).toBe(1);
    await noScript.goto(url(`/ui/events?type=fetch.finished`));
    expect(await noScript.locator("#event-list li", { hasText: "live/event.bin" }).count()).toBeGreaterThan(0);
    expect(await noScript.locator("#event-list li:not([data-type='fetch.finished'])").count()).toBe(0);
    await noScript.goto(url("/ui/"));
    // axe runs as a script in the page: this context has none, so only the screenshot.
    await noScript.screenshot({ path: join(SCREENSHOTS, "overview-no-javascript.png"), fullPage: true });
    // Some 30 pages, each loaded and checked in three browsers: minutes on a loaded 2-core machine.
  }, 300_000);
});
