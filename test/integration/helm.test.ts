import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

interface HelmIndex {
  entries: Record<string, { version: string; digest: string; urls: string[] }[]>;
}

/**
 * No helm client exists on these machines: this walks the served index.yaml exactly as
 * `helm repo add` / `helm pull` do (absolute chart URLs as they are, relative ones against the
 * repository URL) and checks every chart against its digest.
 */
describe.each([
  { backends: "embedded default", external: false },
  { backends: "Postgres + Redis (Upstash bridge) + S3", external: true },
])("helm repository through the proxy (protocol level) on $backends", ({ external }) => {
  const origin = new Origin();
  let backends: ExternalBackends | null = null;
  const remote = uniqueName("helm");
  const charts = { "web-1.0.0.tgz": randomBytes(20_000), "web-1.1.0.tgz": randomBytes(20_000), "db-2.0.0.tgz": randomBytes(30_000) };
  let stack: TestStack;

  const repository = () => `${stack.url}/api/v1/remote/${remote}/charts`;

  beforeAll(async () => {
    await origin.start();
    const entry = (name: string, version: string, url: string, digest: string) => ({ name, version, digest, urls: [url], apiVersion: "v2" });
    const index = {
      apiVersion: "v1",
      entries: {
        web: [
          entry("web", "1.1.0", `${origin.url}/charts/web-1.1.0.tgz`, sha256(charts["web-1.1.0.tgz"])),
          entry("web", "1.0.0", `${origin.url}/charts/web-1.0.0.tgz`, sha256(charts["web-1.0.0.tgz"])),
        ],
        db: [entry("db", "2.0.0", "db-2.0.0.tgz", sha256(charts["db-2.0.0.tgz"]))],
        tampered: [entry("tampered", "0.1.0", `${origin.url}/charts/tampered-0.1.0.tgz`, "f".repeat(64))],
      },
      generated: "2026-11-01T00:00:00Z",
    };
    origin.serve("/charts/index.yaml", { body: `# served by a test\n${stringify(index)}`, contentType: "application/x-yaml" });
    for (const [name, body] of Object.entries(charts)) origin.serve(`/charts/${name}`, { body, contentType: "application/gzip" });
    origin.serve("/charts/tampered-0.1.0.tgz", randomBytes(100));
    backends = external ? await startExternalBackends() : null;
    stack = await startTestStack({
      remotes: { [remote]: { base_url: origin.url, package: "helm", allow_private_network: true, mutable_ttl: 1 } },
      env: { ...backends?.env, TRUST_FORWARDED: "true" },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    await origin.stop();
  });

  /** `helm pull` of every chart version the index lists; returns how many were checked. */
  const pullEverything = async (repositoryUrl: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${repositoryUrl}/index.yaml`, { headers });
    expect(response.status).toBe(200);
    const index = parse(await response.text()) as HelmIndex;
    let checked = 0;
    for (const [name, versions] of Object.entries(index.entries)) {
      if (name === "tampered") continue;
      for (const version of versions) {
        const url = new URL(version.urls[0]!, `${repositoryUrl}/`);
        const chart = await fetch(url, { headers });
        expect(chart.status, url.href).toBe(200);
        expect(sha256(Buffer.from(await chart.arrayBuffer()))).toBe(version.digest);
        checked++;
      }
    }
    return { index, checked };
  };

  it("serves index.yaml with every chart URL pointing back at the proxy, and every chart matching its digest", async () => {
    const { index, checked } = await pullEverything(repository());
    expect(checked).toBe(3);
    expect(index.entries.web![0]!.urls[0]).toBe(`${repository()}/web-1.1.0.tgz`);
    expect(index.entries.db![0]!.urls[0]).toBe("db-2.0.0.tgz");
    expect(origin.count("/charts/web-1.0.0.tgz")).toBe(1);
  });

  it("writes chart URLs for the scheme and host the load balancer forwards (TRUST_FORWARDED)", async () => {
    const headers = { "x-forwarded-proto": "https", "x-forwarded-host": "charts.example.com" };
    // HEAD first: the length announced is that of the rewritten document the GET then serves.
    const head = await fetch(`${repository()}/index.yaml`, { method: "HEAD", headers });
    const text = await (await fetch(`${repository()}/index.yaml`, { headers })).text();
    expect(Number(head.headers.get("content-length"))).toBe(Buffer.byteLength(text));
    const index = parse(text) as HelmIndex;
    expect(index.entries.web![0]!.urls[0]).toBe(`https://charts.example.com/api/v1/remote/${remote}/charts/web-1.1.0.tgz`);
  });

  it("refuses, and does not cache, a chart whose bytes do not match the index digest", async () => {
    for (let attempt = 1; attempt <= 2; attempt++) {
      const response = await fetch(`${repository()}/tampered-0.1.0.tgz`);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
    }
    expect(origin.count("/charts/tampered-0.1.0.tgz")).toBe(2);
  });

  it("serves the whole repository from the cache once the upstream is gone", async () => {
    await origin.stop();
    await sleep(1_200); // past mutable_ttl: the index is served stale
    const { checked } = await pullEverything(repository());
    expect(checked).toBe(3);
  });
});
