import { afterAll, beforeAll, expect, it } from "vitest";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { json } from "../support/http.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

const ADMIN_TOKEN = "admin-token-for-health-test";
const withToken = { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
let backends: ExternalBackends;
let stack: TestStack;

beforeAll(async () => {
  backends = await startExternalBackends();
  stack = await startTestStack({
    remotes: { releases: { base_url: "https://releases.example.org", description: "release downloads" } },
    env: { ...backends.env, ADMIN_TOKEN },
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

it("reports every backend with its latency to a management token, only up/down to anyone else, and 503 once one is down", async () => {
  const healthy = await fetch(`${stack.url}/api/v2/health`, withToken);
  expect(healthy.status).toBe(200);
  const report = await json(healthy);
  expect(report.backends.map((b: { name: string }) => b.name)).toEqual(["blob:s3", "state:upstash", "metadata:postgres"]);
  for (const backend of report.backends) {
    expect(backend.status).toBe("up");
    expect(backend.latency_ms).toBeGreaterThanOrEqual(0);
  }
  const anonymous = await fetch(`${stack.url}/api/v2/health`);
  expect(anonymous.status).toBe(200);
  expect(await json(anonymous)).toEqual({ status: "ok", backends: report.backends.map(({ name }: { name: string }) => ({ name, status: "up" })) });

  await backends.stopS3();
  const degraded = await fetch(`${stack.url}/api/v2/health`, withToken);
  expect(degraded.status).toBe(503);
  const down = (await json(degraded)).backends.find((b: { name: string }) => b.name === "blob:s3");
  expect(down).toMatchObject({ status: "down", error: expect.any(String) });
  // Without a token: which backend is down, not why (no hosts, ports or driver messages).
  const publicView = await fetch(`${stack.url}/api/v2/health`);
  expect(publicView.status).toBe(503);
  const publicReport = await json(publicView);
  expect(publicReport.status).toBe("degraded");
  expect(publicReport.backends).toContainEqual({ name: "blob:s3", status: "down" });
  expect(JSON.stringify(publicReport)).not.toMatch(/latency|error|127\.0\.0\.1/);
  // Liveness stays up: the proxy can still answer (and serve what needs no blob store).
  expect((await fetch(`${stack.url}/health`)).status).toBe(200);
});
