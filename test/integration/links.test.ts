import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const PUBLIC_URL = "https://dl.example.com";
const TOKEN = "registry-token";
const NPM_MIXED = "application/json, application/vnd.npm.install-v1+json";
const NPM_INSTALL = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

const sri = (data: Buffer) => `sha512-${createHash("sha512").update(data).digest("base64")}`;
const hex = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * What a hostile client tries against links, cache keys and rewritten documents (issue 10,
 * items 1-7), through the proxy as `npm start` runs it, with real origins on two loopback hosts:
 * the registry (a GitLab-style per-project npm registry, a PyPI index, an S3-style bucket, a
 * Terraform registry) and a second host where indexes put files.
 */
describe("links, cache keys and rewritten documents", () => {
  const registry = new Origin();
  const files = new Origin();
  const names = { npm: uniqueName("npm"), pypi: uniqueName("pypi"), bucket: uniqueName("bucket"), tf: uniqueName("tf") };
  const tarballs = { own: randomBytes(3_000), otherProject: randomBytes(3_000), otherHost: randomBytes(3_000), tampered: randomBytes(3_000) };
  const NPM_BASE = "/api/v4/projects/123/packages/npm";
  const SECRET = "/api/v4/projects/999/repository/files/secrets.yml/raw";
  let stack: TestStack;

  const remoteUrl = (name: string, path: string) => `${stack.url}/api/v1/remote/${name}/${path}`;
  /** A link as rewritten for PUBLIC_URL, followed on the proxy under test. */
  const local = (url: string) => url.replace(PUBLIC_URL, stack.url);
  const registryHost = () => `127.0.0.1:${registry.port}`;
  const filesHost = () => `127.0.0.1:${files.port}`;

  beforeAll(async () => {
    await registry.start();
    await files.start();
    const version = (v: string, tarball: string, data: Buffer, integrity = sri(data)) => ({ name: "@acme/widget", version: v, dist: { tarball, integrity } });
    const packument = {
      name: "@acme/widget",
      "dist-tags": { latest: "1.2.0" },
      versions: {
        "1.0.0": version("1.0.0", `${registry.url}${NPM_BASE}/@acme/widget/-/widget-1.0.0.tgz`, tarballs.own),
        "1.1.0": version("1.1.0", `${registry.url}/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.1.0.tgz`, tarballs.otherProject),
        "1.2.0": version("1.2.0", `${files.url}/cdn/widget-1.2.0.tgz`, tarballs.otherHost),
        "1.3.0": version("1.3.0", `${registry.url}${NPM_BASE}/@acme/widget/-/widget-1.3.0.tgz`, tarballs.tampered, sri(randomBytes(8))),
      },
    };
    registry
      .serve(`${NPM_BASE}/@acme/widget`, { body: JSON.stringify(packument), contentType: "application/json" })
      .serve(`${NPM_BASE}/@acme/accept`, { body: JSON.stringify({ name: "@acme/accept", versions: {} }), contentType: "application/json" })
      .serve(`${NPM_BASE}/@acme/widget/-/widget-1.0.0.tgz`, tarballs.own)
      .serve(`${NPM_BASE}/@acme/widget/-/widget-1.3.0.tgz`, tarballs.tampered)
      .serve("/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.1.0.tgz", tarballs.otherProject)
      .serve(SECRET, "top secret")
      .serve("/pypi/simple/demo/", {
        body: `<a href="${files.url}/pkgs/foo-1.0.tar.gz#sha256=${"0".repeat(64)}">foo-1.0.tar.gz</a>`,
        contentType: "text/html",
      })
      .serve("/s3/tool-1.2.tar.gz?versionId=old", "old bytes")
      .serve("/s3/tool-1.2.tar.gz?versionId=new", "new bytes")
      .serve("/s3/tool-1.2.tar.gz", "current bytes")
      .serve("/tf/v1/providers/acme/demo/1.0.0/download/linux/amd64", {
        body: JSON.stringify({ os: "linux", arch: "amd64", download_url: `${files.url}/terraform-provider-demo.zip`, padding: "x".repeat(400) }),
        contentType: "application/json",
      });
    files.serve("/cdn/widget-1.2.0.tgz", tarballs.otherHost).serve("/pkgs/foo-1.0.tar.gz", "tampered sdist");
    const common = { allow_private_network: true, mutable_ttl: 300 };
    stack = await startTestStack({
      remotes: {
        [names.npm]: { ...common, package: "npm", base_url: `${registry.url}${NPM_BASE}/`, auth: { type: "bearer", token: TOKEN } },
        [names.pypi]: { ...common, package: "pypi", base_url: `${registry.url}/pypi` },
        [names.bucket]: { ...common, base_url: `${registry.url}/s3` },
        [names.tf]: { ...common, package: "terraform", base_url: `${registry.url}/tf`, max_document_size: 200 },
      },
      env: { PUBLIC_URL },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await registry.stop();
    await files.stop();
  });

  const packument = async (headers: Record<string, string> = {}) => {
    const response = await fetch(remoteUrl(names.npm, "@acme/widget"), { headers: { accept: "application/json", ...headers } });
    expect(response.status).toBe(200);
    return { response, body: (await response.json()) as { versions: Record<string, { dist: { tarball: string } }> } };
  };
  const tarballUrl = (body: Awaited<ReturnType<typeof packument>>["body"], version: string) => body.versions[version]!.dist.tarball;

  it("item 1: refuses a _files/ path that no index linked, so the remote's token is never spent on it", async () => {
    const response = await fetch(remoteUrl(names.npm, `_files/${registryHost()}${SECRET}`));
    expect(response.status).toBe(403);
    expect(registry.count(SECRET)).toBe(0);
  });

  it("items 1+2: every tarball link comes back through the proxy, on any host; the token goes only under base_url", async () => {
    const { body } = await packument();
    for (const v of ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]) expect(tarballUrl(body, v)).toMatch(new RegExp(`^${PUBLIC_URL}/api/v1/remote/${names.npm}/`));
    expect(tarballUrl(body, "1.1.0")).toBe(`${PUBLIC_URL}/api/v1/remote/${names.npm}/_files/${registryHost()}/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.1.0.tgz`);
    expect(tarballUrl(body, "1.2.0")).toBe(`${PUBLIC_URL}/api/v1/remote/${names.npm}/_files/${filesHost()}/cdn/widget-1.2.0.tgz`);

    for (const [v, data] of [["1.0.0", tarballs.own], ["1.1.0", tarballs.otherProject], ["1.2.0", tarballs.otherHost]] as const) {
      const download = await fetch(local(tarballUrl(body, v)));
      expect(download.status, v).toBe(200);
      expect(hex(Buffer.from(await download.arrayBuffer()))).toBe(hex(data));
    }
    const auth = (origin: Origin, path: string) => origin.requests.filter((r) => r.path === path).map((r) => r.headers.authorization);
    expect(auth(registry, `${NPM_BASE}/@acme/widget`)).toEqual([`Bearer ${TOKEN}`]);
    expect(auth(registry, `${NPM_BASE}/@acme/widget/-/widget-1.0.0.tgz`)).toEqual([`Bearer ${TOKEN}`]);
    // The same host, another project: linked, so fetched, but without the token.
    expect(auth(registry, "/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.1.0.tgz")).toEqual([undefined]);
    expect(auth(files, "/cdn/widget-1.2.0.tgz")).toEqual([undefined]);
    // Linking a tarball of project 999 does not open the rest of its host.
    expect((await fetch(remoteUrl(names.npm, `_files/${registryHost()}${SECRET}`))).status).toBe(403);
  });

  it("item 3: documents are built for PUBLIC_URL only; hosts and forwarded headers a client invents add no copy", async () => {
    const before = registry.count(`${NPM_BASE}/@acme/widget`);
    const bodies = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { response, body } = await packument({ "x-forwarded-host": `attacker-${i}.example`, "x-forwarded-proto": i % 2 ? "http" : "https" });
      expect(response.headers.get("x-artifact-source")).toBe("cache");
      expect(response.headers.get("vary")).toBe("Accept");
      bodies.add(JSON.stringify(body));
    }
    expect(bodies.size).toBe(1);
    expect([...bodies][0]).not.toContain("attacker");
    expect(registry.count(`${NPM_BASE}/@acme/widget`)).toBe(before);
  });

  it("item 5: the query string is part of the key where the type keeps it, and is what the upstream gets", async () => {
    const get = async (search: string) => {
      const response = await fetch(`${remoteUrl(names.bucket, "tool-1.2.tar.gz")}${search}`);
      return { source: response.headers.get("x-artifact-source"), text: await response.text() };
    };
    expect(await get("?versionId=old")).toEqual({ source: "remote", text: "old bytes" });
    expect(await get("?versionId=new")).toEqual({ source: "remote", text: "new bytes" });
    expect(await get("")).toEqual({ source: "remote", text: "current bytes" });
    expect(await get("?versionId=old")).toEqual({ source: "cache", text: "old bytes" });
    // Sorted: one key, and the upstream was asked in that order.
    expect((await get("?z=1&versionId=new")).source).toBe("remote");
    expect((await get("?versionId=new&z=1")).source).toBe("cache");
    expect(registry.requests.filter((r) => r.path === "/s3/tool-1.2.tar.gz").map((r) => r.search)).toEqual(["?versionId=old", "?versionId=new", "", "?versionId=new&z=1"]);
    // npm keeps none: a cache-busting query neither reaches the upstream nor makes a new copy.
    for (const bust of ["?cachebust=1", "?cachebust=2"]) expect((await fetch(`${remoteUrl(names.npm, "@acme/accept")}${bust}`)).status).toBe(200);
    expect(registry.requests.filter((r) => r.path === `${NPM_BASE}/@acme/accept`).map((r) => r.search)).toEqual([""]);
  });

  it("item 6: the upstream is asked the Accept of the variant the key names, not the client's header", async () => {
    const accepts = () => registry.requests.filter((r) => r.path === `${NPM_BASE}/@acme/accept`).map((r) => r.headers.accept);
    // Served from the full-document key (cached by the test before, asked with no Accept at all).
    expect((await fetch(remoteUrl(names.npm, "@acme/accept"), { headers: { accept: NPM_MIXED } })).headers.get("x-artifact-source")).toBe("cache");
    expect((await fetch(remoteUrl(names.npm, "@acme/accept"), { headers: { accept: NPM_INSTALL } })).status).toBe(200);
    expect(accepts()).toEqual(["application/json", NPM_INSTALL]);
    // `;q =0.1` is a q-value: the abbreviated form ranks last, so this is the full document, from the cache.
    const lowered = await fetch(remoteUrl(names.npm, "@acme/accept"), { headers: { accept: "application/vnd.npm.install-v1+json;q =0.1, application/json" } });
    expect(lowered.headers.get("x-artifact-source")).toBe("cache");
    expect(accepts()).toHaveLength(2);
  });

  it("item 7: another spelling of a path cannot skip the digest its index declared", async () => {
    expect((await fetch(remoteUrl(names.pypi, "simple/demo/"), { headers: { accept: "text/html" } })).status).toBe(200);
    for (const path of [`_files/${filesHost()}/pkgs/fo%6f-1.0.tar.gz`, `%5Ffiles/${filesHost()}/pkgs/foo-1.0.tar.gz`, `_files/${filesHost()}/pkgs/foo-1.0.tar.gz`]) {
      const response = await fetch(remoteUrl(names.pypi, path));
      expect(response.status, path).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
    }
    const { body } = await packument();
    for (const path of ["@acme%2fwidget/-/widget-1.3.0.tgz", "@acme/widget/-/widget-1.3%2E0.tgz", new URL(local(tarballUrl(body, "1.3.0"))).pathname.split(`/${names.npm}/`)[1]!]) {
      const response = await fetch(remoteUrl(names.npm, path));
      expect(response.status, path).toBe(502);
    }
  });

  it("item 4: a document rewritten whole above max_document_size is refused with a 502 that names the key", async () => {
    const response = await fetch(remoteUrl(names.tf, "v1/providers/acme/demo/1.0.0/download/linux/amd64"));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/max_document_size \(200 bytes\)/);
  });

  it("item 2: a tarball on the second host is served from the cache once that host is down", async () => {
    const { body } = await packument();
    await files.stop();
    try {
      const download = await fetch(local(tarballUrl(body, "1.2.0")));
      expect(download.status).toBe(200);
      expect(download.headers.get("x-artifact-source")).toBe("cache");
      expect(hex(Buffer.from(await download.arrayBuffer()))).toBe(hex(tarballs.otherHost));
    } finally {
      await files.start();
    }
  });
});
