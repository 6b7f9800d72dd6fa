import { afterAll, beforeAll, expect, it } from "vitest";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { json } from "../support/http.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

let backends: ExternalBackends;
let stack: TestStack;

beforeAll(async () => {
  backends = await startExternalBackends();
  stack = await startTestStack({
    remotes: { releases: { base_url: "https://releases.example.org", description: "release downloads" } },
    env: backends.env,
  });
});

afterAll(async () => {
  await stack?.destroy();
  await backends?.stop();
});

it("names itself and its remotes at the root", async () => {
  const root = await json(await fetch(`${stack.url}/`));
  expect(root).toMatchObject({ name: "artifactapi-edge", remotes: [{ name: "releases", package: "generic", description: "release downloads" }] });
});

it("reports every backend with its latency, and 503 once one is down", async () => {
  const healthy = await fetch(`${stack.url}/api/v2/health`);
  expect(healthy.status).toBe(200);
  const report = await json(healthy);
  expect(report.backends.map((b: { name: string }) => b.name)).toEqual(["blob:s3", "state:upstash", "metadata:postgres"]);
  for (const backend of report.backends) {
    expect(backend.status).toBe("up");
    expect(backend.latency_ms).toBeGreaterThanOrEqual(0);
  }

  await backends.stopS3();
  const degraded = await fetch(`${stack.url}/api/v2/health`);
  expect(degraded.status).toBe(503);
  const down = (await json(degraded)).backends.find((b: { name: string }) => b.name === "blob:s3");
  expect(down.status).toBe("down");
  // Liveness stays up: the proxy can still answer (and serve what needs no blob store).
  expect((await fetch(`${stack.url}/health`)).status).toBe(200);
});
