import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { json } from "../support/http.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

const ADMIN_TOKEN = "admin-token-for-remotes-file-test";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    remotes: { releases: { base_url: "https://releases.example.org", description: "from the file" } },
    env: { ADMIN_TOKEN },
  });
});

afterAll(async () => {
  await stack?.destroy();
});

const remoteNames = async () =>
  (await json(await fetch(`${stack.url}/`))).remotes.map((r: { name: string; description: string }) => `${r.name}: ${r.description}`);

it("applies the remotes file at every start without undoing remotes made through the API", async () => {
  const created = await fetch(`${stack.url}/api/v2/remotes/mirror`, {
    method: "PUT",
    headers: auth,
    body: JSON.stringify({ base_url: "https://mirror.example.org", description: "from the API" }),
  });
  expect(created.status).toBeLessThan(300);

  stack = await stack.restart({
    releases: { base_url: "https://releases.example.org", description: "edited in the file" },
    tools: { base_url: "https://tools.example.org", description: "added to the file" },
  });
  expect(await remoteNames()).toEqual(["mirror: from the API", "releases: edited in the file", "tools: added to the file"]);

  stack = await stack.restart({ tools: { base_url: "https://tools.example.org", description: "added to the file" } });
  expect(await remoteNames()).toEqual(["mirror: from the API", "tools: added to the file"]);
});

it("refuses an invalid file as a whole and keeps what was there", async () => {
  await stack.stop();
  // Applied in part, this file would drop tools' description and add a remote named 'fine'.
  await expect(
    stack.restart({ tools: { base_url: "https://tools.example.org" }, fine: { base_url: "https://fine.example.org" }, broken: { base_url: "nope" } }),
  ).rejects.toThrow(/remote 'broken': key 'base_url'/);
  try {
    // Read right after the refused start, before any later start applies a file again.
    expect(await storedRemotes(stack.dataDir)).toEqual(["mirror: from the API", "tools: added to the file"]);
  } finally {
    stack = await stack.restart({ tools: { base_url: "https://tools.example.org", description: "added to the file" } });
  }
});

/** The remotes in the stopped stack's embedded database, read directly. */
async function storedRemotes(dataDir: string): Promise<string[]> {
  const db = await PGlite.create(join(dataDir, "pglite"));
  try {
    const { rows } = await db.query<{ name: string; description: string }>("SELECT name, config->>'description' AS description FROM remotes ORDER BY name");
    return rows.map((r) => `${r.name}: ${r.description}`);
  } finally {
    await db.close();
  }
}

it("refuses an oversized management body with 413 and stores nothing", async () => {
  const huge = await fetch(`${stack.url}/api/v2/remotes/huge`, {
    method: "PUT",
    headers: auth,
    body: JSON.stringify({ base_url: "https://huge.example.org", description: "x".repeat(1024 * 1024) }),
  });
  expect(huge.status).toBe(413);
  expect((await json(huge)).error.code).toBe("BODY_TOO_LARGE");
  expect((await fetch(`${stack.url}/api/v2/remotes/huge`, { headers: auth })).status).toBe(404);
});
