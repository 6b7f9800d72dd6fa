import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { loopbackName, type HostsEntry } from "../support/hosts-file.ts";
import { eventually, json, rawGet, sha256, sha256OfBody, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * The behaviours of the edge cache engine (issue 2), against the proxy as `npm start` runs it,
 * once on the embedded default and once on real Postgres + Redis + S3.
 */
describe.each([
  { backends: "embedded default (PGlite, Postgres state, local R2)", external: false },
  { backends: "Postgres + Redis (Upstash bridge) + S3", external: true },
])("edge cache on $backends", ({ external }) => {
  const origin = new Origin();
  /** A second origin that tests stop and start, so the others keep theirs. */
  const flaky = new Origin();
  const names = { files: uniqueName("files"), mutable: uniqueName("mutable"), slow: uniqueName("slow"), guarded: uniqueName("guarded"), flaky: uniqueName("flaky") };
  let backends: ExternalBackends | null = null;
  let stack: TestStack;

  const big = randomBytes(3 * 1024 * 1024);
  const huge = randomBytes(50 * 1024 * 1024);
  const chunked = randomBytes(12 * 1024 * 1024 + 123);

  const remotes = () => ({
    [names.files]: { base_url: origin.url, allow_private_network: true },
    [names.mutable]: { base_url: origin.url, allow_private_network: true, mutable_patterns: ["^index/"], mutable_ttl: 1 },
    [names.slow]: { base_url: origin.url, allow_private_network: true, mutable_patterns: ["."], mutable_ttl: 1, upstream_timeout: 1 },
    [names.guarded]: { base_url: origin.url, allow_private_network: true, patterns: ["^pub/"], blocklist: ["secret"] },
    [names.flaky]: { base_url: flaky.url, allow_private_network: true, mutable_patterns: ["^index/"], mutable_ttl: 1 },
  });
  const url = (remote: keyof typeof names, path: string) => `${stack.url}/api/v1/remote/${names[remote]}/${path}`;

  beforeAll(async () => {
    origin
      .serve("/big.bin", big)
      .serve("/huge.bin", huge)
      .serve("/chunked.bin", { body: chunked, chunked: true })
      .serve("/notes.txt", { body: "release notes\n", contentType: "text/plain" })
      .serve("/doc.json", { body: JSON.stringify({ hello: "world".repeat(200) }), contentType: "application/json", gzip: true })
      .serve("/pub/ok.txt", "public")
      .serve("/pub/secret.txt", "nope")
      .serve("/private/x.txt", "not allowed")
      .serve("/broken.bin", { body: randomBytes(2 * 1024 * 1024), breakMidBody: true })
      .serve("/target.txt", "redirected body")
      .redirect("/hop1", "/hop2")
      .redirect("/hop2", "/target.txt")
      .serve("/index/list.txt", "v1")
      .serve("/index/slow.txt", "slow v1");
    await origin.start();
    flaky.serve("/index/feed.txt", "feed v1").serve("/file.bin", "kept");
    await flaky.start();
    backends = external ? await startExternalBackends() : null;
    stack = await startTestStack({ remotes: remotes(), env: backends?.env });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    await origin.stop();
    await flaky.stop();
  });

  it("streams a miss from the upstream and serves the next request from storage", async () => {
    const miss = await fetch(url("files", "big.bin"));
    expect(miss.status).toBe(200);
    expect(miss.headers.get("x-artifact-source")).toBe("remote");
    expect(miss.headers.get("content-length")).toBe(String(big.length));
    expect((await sha256OfBody(miss)).sha256).toBe(sha256(big));

    const hit = await fetch(url("files", "big.bin"));
    expect(hit.headers.get("x-artifact-source")).toBe("cache");
    expect((await sha256OfBody(hit)).sha256).toBe(sha256(big));
    expect(origin.count("/big.bin")).toBe(1);
  });

  it("makes one upstream request for 20 concurrent requests of a cold 50 MiB file", async () => {
    const bodies = await Promise.all(Array.from({ length: 20 }, async () => sha256OfBody(await fetch(url("files", "huge.bin")))));
    for (const body of bodies) expect(body).toEqual({ sha256: sha256(huge), bytes: huge.length });
    expect(origin.count("/huge.bin")).toBe(1);
  });

  it("refuses denied paths with 403 without asking the upstream, and unknown remotes with 404", async () => {
    const outside = await fetch(url("guarded", "private/x.txt"));
    expect(outside.status).toBe(403);
    expect((await json(outside)).error.code).toBe("DENIED");
    const blocked = await fetch(url("guarded", "pub/secret.txt"));
    expect(blocked.status).toBe(403);
    expect((await json(blocked)).error.message).toMatch(/blocklist/);
    expect(origin.count("/private/x.txt") + origin.count("/pub/secret.txt")).toBe(0);
    expect(await (await fetch(url("guarded", "pub/ok.txt"))).text()).toBe("public");

    const unknown = await fetch(`${stack.url}/api/v1/remote/no-such-remote/x`);
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).error.code).toBe("REMOTE_NOT_FOUND");
  });

  it("answers the earlier version's short URL form", async () => {
    const response = await fetch(`${stack.url}/api/${names.guarded}/pub/ok.txt`);
    expect(await response.text()).toBe("public");
  });

  it("serves ranges, HEAD, ETag / If-None-Match and the headers a download needs", async () => {
    await (await fetch(url("files", "notes.txt"))).arrayBuffer();
    const full = await fetch(url("files", "notes.txt"));
    expect(full.headers.get("content-type")).toBe("text/plain");
    expect(full.headers.get("content-disposition")).toMatch(/^attachment; filename="notes.txt"/);
    expect(full.headers.get("last-modified")).toBe("Tue, 03 Nov 2026 10:00:00 GMT");
    expect(full.headers.get("accept-ranges")).toBe("bytes");
    const etag = full.headers.get("etag");
    expect(etag).toBe(`"${sha256("release notes\n")}"`);
    await full.arrayBuffer();

    const range = await fetch(url("files", "notes.txt"), { headers: { range: "bytes=8-12" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe("bytes 8-12/14");
    expect(await range.text()).toBe("notes");
    const suffix = await fetch(url("files", "notes.txt"), { headers: { range: "bytes=-6" } });
    expect(await suffix.text()).toBe("notes\n");
    const beyond = await fetch(url("files", "notes.txt"), { headers: { range: "bytes=100-" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */14");

    const head = await fetch(url("files", "notes.txt"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("14");
    expect(await head.text()).toBe("");

    const notModified = await fetch(url("files", "notes.txt"), { headers: { "if-none-match": etag! } });
    expect(notModified.status).toBe(304);
    expect(origin.count("/notes.txt")).toBe(1);
  });

  it("answers HEAD for a file not cached yet from the upstream's HEAD, without downloading it", async () => {
    const head = await fetch(url("files", "target.txt"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-artifact-source")).toBe("remote");
    expect(head.headers.get("content-length")).toBe("15");
    expect(origin.count("/target.txt", "GET")).toBe(0);
  });

  it("refreshes a mutable path after mutable_ttl, revalidating with the upstream's ETag", async () => {
    expect(await (await fetch(url("mutable", "index/list.txt"))).text()).toBe("v1");
    origin.serve("/index/list.txt", "v2");
    expect(await (await fetch(url("mutable", "index/list.txt"))).text()).toBe("v1"); // still fresh
    await sleep(1_200);
    const refreshed = await fetch(url("mutable", "index/list.txt"));
    expect(refreshed.headers.get("x-artifact-source")).toBe("remote");
    expect(await refreshed.text()).toBe("v2");

    await sleep(1_200);
    const revalidated = await fetch(url("mutable", "index/list.txt"));
    expect(revalidated.headers.get("x-artifact-source")).toBe("cache");
    expect(await revalidated.text()).toBe("v2");
    const last = origin.requests.filter((r) => r.path === "/index/list.txt").at(-1)!;
    expect(last.headers["if-none-match"]).toBeDefined();
  });

  it("serves the stale copy with Age and Warning when the upstream fails, is down or times out", async () => {
    expect(await (await fetch(url("flaky", "index/feed.txt"))).text()).toBe("feed v1");
    await sleep(1_200);

    flaky.failWith = 503;
    const afterError = await fetch(url("flaky", "index/feed.txt"));
    expect(afterError.status).toBe(200);
    expect(await afterError.text()).toBe("feed v1");
    expect(afterError.headers.get("warning")).toMatch(/^110 /);
    expect(Number(afterError.headers.get("age"))).toBeGreaterThanOrEqual(1);
    flaky.failWith = null;

    await flaky.stop();
    const whileDown = await fetch(url("flaky", "index/feed.txt"));
    expect(whileDown.status).toBe(200);
    expect(await whileDown.text()).toBe("feed v1");
    expect(whileDown.headers.get("warning")).toMatch(/^110 /);
    const neverCached = await fetch(url("flaky", "index/other.txt"));
    expect(neverCached.status).toBe(502);
    expect((await json(neverCached)).error.code).toBe("UPSTREAM_UNREACHABLE");
    await flaky.start();

    expect(await (await fetch(url("slow", "index/slow.txt"))).text()).toBe("slow v1");
    await sleep(1_200);
    origin.serve("/index/slow.txt", { body: "slow v2", delayMs: 3_000 });
    const started = Date.now();
    const afterTimeout = await fetch(url("slow", "index/slow.txt"));
    expect(await afterTimeout.text()).toBe("slow v1");
    expect(afterTimeout.headers.get("warning")).toMatch(/^110 /);
    expect(Date.now() - started).toBeLessThan(2_900);
  });

  it("never serves a body cut off mid-transfer as complete, and does not store it", async () => {
    await expect((await fetch(url("files", "broken.bin"))).arrayBuffer()).rejects.toThrow();
    const fixed = randomBytes(2 * 1024 * 1024);
    origin.serve("/broken.bin", fixed);
    await eventually(async () => {
      const again = await fetch(url("files", "broken.bin"));
      expect(again.headers.get("x-artifact-source")).toBe("remote");
      expect((await sha256OfBody(again)).sha256).toBe(sha256(fixed));
    });
    expect(origin.count("/broken.bin")).toBeGreaterThanOrEqual(2);
  });

  it("caches upstreams that send no Content-Length (multipart upload)", async () => {
    const miss = await fetch(url("files", "chunked.bin"));
    expect(miss.headers.get("content-length")).toBeNull();
    expect((await sha256OfBody(miss)).sha256).toBe(sha256(chunked));
    const hit = await fetch(url("files", "chunked.bin"));
    expect(hit.headers.get("x-artifact-source")).toBe("cache");
    expect(hit.headers.get("content-length")).toBe(String(chunked.length));
    expect((await sha256OfBody(hit)).sha256).toBe(sha256(chunked));
    expect(origin.count("/chunked.bin")).toBe(1);
  });

  it("stores a gzip-encoded body decoded, so every client gets the file itself and its ETag is the file's sha256", async () => {
    const document = JSON.stringify({ hello: "world".repeat(200) });
    // rawGet does not ask for or undo any encoding: what it gets is what a client without gzip gets.
    const miss = await rawGet(url("files", "doc.json"));
    const hit = await rawGet(url("files", "doc.json"));
    for (const response of [miss, hit]) {
      expect(response.headers["content-encoding"]).toBeUndefined();
      expect(response.body.toString()).toBe(document);
    }
    expect(hit.headers["x-artifact-source"]).toBe("cache");
    expect(hit.headers["content-length"]).toBe(String(document.length));
    expect(hit.headers.etag).toBe(`"${sha256(document)}"`);
  });

  it("follows upstream redirects without showing them to the client", async () => {
    const response = await fetch(url("files", "hop1"), { redirect: "manual" });
    expect(response.status).toBe(200);
    expect(response.headers.get("location")).toBeNull();
    expect(await response.text()).toBe("redirected body");
  });

  it("still serves what it cached after a restart with the upstream down", async () => {
    await (await fetch(url("flaky", "file.bin"))).arrayBuffer();
    await eventually(async () => expect((await fetch(url("flaky", "file.bin"), { method: "HEAD" })).headers.get("x-artifact-source")).toBe("cache"));
    await flaky.stop();
    stack = await stack.restart();
    const response = await fetch(url("flaky", "file.bin"));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-artifact-source")).toBe("cache");
    expect(await response.text()).toBe("kept");
    await flaky.start();
  });
});

describe("private network policy", () => {
  const origin = new Origin();
  let stack: TestStack;
  let hosts: HostsEntry;

  beforeAll(async () => {
    await origin.start();
    // A public-looking name that resolves to loopback (what `127.0.0.1.nip.io` does on the internet).
    hosts = await loopbackName();
    origin
      .serve("/ok.txt", "public file")
      .redirect("/to-loopback", `http://127.0.0.1:${origin.port}/ok.txt`)
      .redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
      .redirect("/to-name-of-loopback", `http://${hosts.name}:${origin.port}/ok.txt`)
      .redirect("/to-nat64-loopback", `http://[64:ff9b::7f00:1]:${origin.port}/ok.txt`)
      .redirect("/to-6to4", `http://[2002:7f00:1::1]:${origin.port}/ok.txt`)
      .redirect("/to-site-local", `http://[fec0::1]:${origin.port}/ok.txt`)
      .redirect("/to-single-label", `http://intranet:${origin.port}/ok.txt`);
    // The origin answers as "downloads.example.org": to the Worker it is a public host. Every
    // other connection goes through the outbound guard, as under `npm start`.
    const answer = async (request: Request) => {
      const response = await fetch(`${origin.url}${new URL(request.url).pathname}`, { method: request.method, redirect: "manual" });
      return new Response(await response.arrayBuffer(), { status: response.status, headers: response.headers });
    };
    stack = await startTestStack({
      remotes: {
        public: { base_url: "http://downloads.example.org" },
        byname: { base_url: `http://${hosts.name}:${origin.port}` },
        allowed: { base_url: `http://${hosts.name}:${origin.port}`, allow_private_network: true },
      },
      outbound: { hosts: ["downloads.example.org"], fetch: answer },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await hosts?.remove();
    await origin.stop();
  });

  it("serves a public upstream", async () => {
    expect(await (await fetch(`${stack.url}/api/v1/remote/public/ok.txt`)).text()).toBe("public file");
  });

  it("refuses redirects into loopback, link-local, IPv6 transition and site-local addresses and single-label hosts", async () => {
    const before = origin.count("/ok.txt");
    for (const path of ["to-loopback", "to-metadata", "to-nat64-loopback", "to-6to4", "to-site-local", "to-single-label"]) {
      const response = await fetch(`${stack.url}/api/v1/remote/public/${path}`);
      expect(response.status, path).toBe(502);
      expect((await json(response)).error.code, path).toBe("PRIVATE_ADDRESS");
    }
    expect(origin.count("/ok.txt")).toBe(before);
  });

  it("refuses a name that resolves to loopback, directly and on a redirect hop, unless the remote allows private networks", async () => {
    const before = origin.count("/ok.txt");
    for (const path of ["byname/ok.txt", "public/to-name-of-loopback"]) {
      const response = await fetch(`${stack.url}/api/v1/remote/${path}`);
      expect(response.status, path).toBe(502);
      expect((await json(response)).error.message, path).toMatch(new RegExp(`${hosts.name}.*outbound guard connects to public addresses only`));
    }
    expect(origin.count("/ok.txt")).toBe(before);
    const allowed = await fetch(`${stack.url}/api/v1/remote/allowed/ok.txt`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toBe("public file");
    expect(origin.count("/ok.txt")).toBe(before + 1);
  });

  it("refuses to start on a remote that points at a private address without allow_private_network", async () => {
    for (const base_url of ["http://127.0.0.1:9/", "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::1]/", "http://[fec0::1]/", "http://redis:6379/"]) {
      await expect(startTestStack({ remotes: { internal: { base_url } } }), base_url).rejects.toThrow(
        /remote 'internal': key 'base_url': points at a private or loopback address .*allow_private_network/,
      );
    }
  });
});
