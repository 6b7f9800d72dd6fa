import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, seriousAccessibilityViolations } from "../support/browser.ts";
import { eventually, json } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

interface Packument {
  versions: Record<string, { dist: { tarball: string } }>;
}

/**
 * What a virtual served, and from which member, where operators look: the stats API (the
 * virtual's row with its members, its top paths with theirs), the event log (a member's fetches
 * made for the virtual name it), and the web UI in Chromium (the virtual's Browse page lists what
 * it served with the member; a merged document's page names the members it was merged from).
 */
describe("a virtual in stats, events and the objects browser", () => {
  const origins = { a: new Origin(), b: new Origin() };
  const admin = randomBytes(16).toString("hex");
  const names = { a: uniqueName("npm-a"), b: uniqueName("npm-b"), virtual: uniqueName("npm-all") };
  const tarballPath = "shared/-/shared-2.0.0.tgz";
  let stack: TestStack;
  let browser: Browser;

  const api = (path: string) => fetch(`${stack.url}/api/v2${path}`, { headers: { authorization: `Bearer ${admin}` } });

  const packument = (origin: Origin, versions: string[]) => {
    const document = {
      _id: "shared",
      name: "shared",
      "dist-tags": { latest: versions.at(-1) },
      versions: Object.fromEntries(versions.map((version) => [version, { name: "shared", version, dist: { tarball: `${origin.url}/shared/-/shared-${version}.tgz` } }])),
    };
    origin.serve("/shared", { body: JSON.stringify(document), contentType: "application/json" });
    for (const version of versions) origin.serve(`/shared/-/shared-${version}.tgz`, `shared ${version}`);
  };

  beforeAll(async () => {
    await Promise.all(Object.values(origins).map((origin) => origin.start()));
    packument(origins.a, ["1.0.0"]);
    packument(origins.b, ["2.0.0"]);
    const remote = (origin: Origin) => ({ base_url: origin.url, package: "npm", allow_private_network: true });
    stack = await startTestStack({
      remotes: { [names.a]: remote(origins.a), [names.b]: remote(origins.b) },
      virtuals: { [names.virtual]: { package: "npm", members: [names.a, names.b] } },
      env: { ADMIN_TOKEN: admin },
    });
    browser = await launchChromium();
    // Through the virtual: its merged packument, then a tarball only the second member has.
    const merged = await fetch(`${stack.url}/api/v1/virtual/${names.virtual}/shared`);
    expect(merged.headers.get("x-artifact-members")).toBe(`${names.a}, ${names.b}`);
    const tarball = await fetch(((await merged.json()) as Packument).versions["2.0.0"]!.dist.tarball);
    expect([tarball.headers.get("x-artifact-member"), await tarball.text()]).toEqual([names.b, "shared 2.0.0"]);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.destroy();
    await Promise.all(Object.values(origins).map((origin) => origin.stop()));
  });

  it("counts the virtual's answers in stats, per member, with the member of each top path", async () => {
    await eventually(async () => {
      const stats = await json(await api("/stats?window=1h&top=100"));
      const row = stats.windows["1h"].remotes[names.virtual];
      expect(row.requests).toBeGreaterThanOrEqual(2);
      expect(row.members).toEqual({ [names.b]: { requests: 1, bytes_served: "shared 2.0.0".length } });
      const top = stats.windows["1h"].top.filter((entry: { remote: string }) => entry.remote === names.virtual);
      expect(top).toEqual(expect.arrayContaining([{ remote: names.virtual, path: tarballPath, requests: 1, bytes_served: "shared 2.0.0".length, member: names.b }]));
      // The merged document is the virtual's own (no single member), and the member's own row counts its answer too.
      expect(top.find((entry: { path: string }) => entry.path === "shared")).not.toHaveProperty("member");
      expect(stats.windows["1h"].remotes[names.b].requests).toBeGreaterThanOrEqual(2);
    });
  });

  it("names the virtual in the events of the members' fetches made for it", async () => {
    await eventually(async () => {
      const text = await (await api("/events?backlog=200&timeout=1")).text();
      const finished = [...text.matchAll(/event: fetch\.finished\ndata: (.*)\n/g)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>);
      expect(finished).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ remote: names.a, path: "shared", virtual: names.virtual }),
          expect.objectContaining({ remote: names.b, path: "shared", virtual: names.virtual }),
          expect.objectContaining({ remote: names.b, path: tarballPath, virtual: names.virtual }),
          // The merge itself is the virtual's fetch.
          expect.objectContaining({ remote: names.virtual, path: "shared" }),
        ]),
      );
    });
  });

  it("does not let a client name a virtual in a remote's events with the internal header", async () => {
    packument(origins.a, ["1.0.0", "1.1.0"]);
    const direct = await fetch(`${stack.url}/api/v1/remote/${names.a}/shared/-/shared-1.1.0.tgz`, { headers: { "x-artifact-via-virtual": "forged" } });
    expect(await direct.text()).toBe("shared 1.1.0");
    await eventually(async () => {
      const text = await (await api("/events?backlog=200&timeout=1")).text();
      const finished = [...text.matchAll(/event: fetch\.finished\ndata: (.*)\n/g)].map((match) => JSON.parse(match[1]!) as Record<string, unknown>);
      const own = finished.find((event) => event.remote === names.a && event.path === "shared/-/shared-1.1.0.tgz");
      expect(own).toBeDefined();
      expect(own).not.toHaveProperty("virtual");
    });
  });

  const signIn = async (page: Page) => {
    await page.goto(`${stack.url}/ui/`);
    await page.getByLabel("Management token").fill(admin);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${stack.url}/ui/`);
  };

  it("shows in the objects browser what the virtual served, from which member, and what a merged document was merged from", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await signIn(page);
      await json(await api("/stats?window=1h")); // this isolate's counts written
      await eventually(async () => {
        await page.goto(`${stack.url}/ui/browse/${names.virtual}`);
        const served = page.getByRole("region", { name: `Served through ${names.virtual}` });
        const row = served.getByRole("row").filter({ hasText: tarballPath });
        expect(await row.count()).toBe(1);
        expect(await row.getByRole("link", { name: names.b }).count()).toBe(1);
      });
      expect(await seriousAccessibilityViolations(page)).toEqual([]);

      await page.getByRole("region", { name: "Cached objects" }).getByRole("link", { name: "shared", exact: true }).first().click();
      await page.waitForURL(/\/object\?key=/);
      const servedBy = page.locator("dt", { hasText: "Served by" }).locator("xpath=following-sibling::dd[1]");
      expect(await servedBy.textContent()).toContain(`the virtual ${names.virtual}, merged from ${names.a}, ${names.b}`);
      expect(await servedBy.getByRole("link").allTextContents()).toEqual([names.a, names.b]);
      expect(await seriousAccessibilityViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
