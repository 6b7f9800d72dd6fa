import { randomBytes } from "node:crypto";
import { request, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { eventually, json, sha256, sha256OfBody, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/** The `ttl` remote's immutable_ttl: long enough that a loaded machine still makes the "still fresh" request inside it. */
const TTL_SECONDS = 4;

/**
 * What README.md promises about answering requests, against the proxy as `npm start` runs it,
 * on the embedded default and on Postgres + Redis + S3: ranges and conditional requests on a
 * file large enough to come from the blob store (not the in-memory hot-blob path, ≤ 256 KiB),
 * a range on a miss, timeouts, TTLs and classification overrides, a mapped hostname, upstream
 * header auth, and the management API locked without ADMIN_TOKEN.
 */
describe.each([
  { backends: "embedded default (PGlite, Postgres state, local R2)", external: false },
  { backends: "Postgres + Redis (Upstash bridge) + S3", external: true },
])("serving on $backends", ({ external }) => {
  const origin = new Origin();
  /** Another host (another port is another origin): where credentials must not follow a redirect. */
  const elsewhere = new Origin();
  const names = {
    files: uniqueName("files"),
    timeout: uniqueName("timeout"),
    ttl: uniqueName("ttl"),
    gomod: uniqueName("gomod"),
    mapped: uniqueName("mapped"),
    keyed: uniqueName("keyed"),
  };
  const host = `${uniqueName("dl")}.example.test`;
  const apiKey = `key-${randomBytes(8).toString("hex")}`;
  let backends: ExternalBackends | null = null;
  let stack: TestStack;

  /** 1 MiB: above the 256 KiB hot-blob limit, so hits read the blob store with a range. */
  const large = randomBytes(1024 * 1024);
  const rangeSource = randomBytes(600 * 1024);
  const LAST_MODIFIED = "Tue, 03 Nov 2026 10:00:00 GMT";

  const url = (remote: keyof typeof names, path: string) => `${stack.url}/api/v1/remote/${names[remote]}/${path}`;

  beforeAll(async () => {
    origin
      .serve("/large.bin", large)
      .serve("/range-on-miss.bin", rangeSource)
      .serve("/slow.bin", { body: "late", delayMs: 3_000 })
      .serve("/kept-a-second.txt", "ttl v1")
      .serve("/example.com/pinned/@v/list", "v1.0.0\n")
      .serve("/example.com/moving/@v/list", "v1.0.0\n")
      .serve("/readme.txt", "at the root of a mapped host\n")
      .serve("/nested/dir/tool.tar.gz", "nested file")
      .serve("/keyed.txt", "needs the key");
    await Promise.all([origin.start(), elsewhere.start()]);
    // The redirect names elsewhere's port, known only once it listens.
    origin.redirect("/keyed-moved.txt", `${elsewhere.url}/keyed-moved.txt`);
    elsewhere.serve("/keyed-moved.txt", "moved file");
    backends = external ? await startExternalBackends() : null;
    const local = { base_url: origin.url, allow_private_network: true };
    stack = await startTestStack({
      remotes: {
        [names.files]: local,
        [names.timeout]: { ...local, upstream_timeout: 1 },
        [names.ttl]: { ...local, immutable_ttl: TTL_SECONDS },
        [names.gomod]: { ...local, package: "goproxy", mutable_ttl: 1, immutable_patterns: ["^example\\.com/pinned/"] },
        [names.mapped]: { ...local, hostnames: [host] },
        [names.keyed]: { ...local, auth: { type: "header", name: "x-api-key", value_env: "SERVING_TEST_API_KEY" } },
      },
      // No ADMIN_TOKEN: the Worker runs as a deployed one without the secret would.
      env: { ...backends?.env, SERVING_TEST_API_KEY: apiKey },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    await Promise.all([origin.stop(), elsewhere.stop()]);
  });

  describe("a large file from the blob store", () => {
    const cached = async () => {
      const response = await fetch(url("files", "large.bin"));
      expect(response.headers.get("x-artifact-source")).toBe("cache");
      return response;
    };

    beforeAll(async () => {
      await (await fetch(url("files", "large.bin"))).arrayBuffer();
      await eventually(async () => void (await (await cached()).arrayBuffer()));
    });

    it("serves the whole file, a range, an open range and a suffix range from storage", async () => {
      const whole = await cached();
      expect(whole.headers.get("content-length")).toBe(String(large.length));
      expect(whole.headers.get("accept-ranges")).toBe("bytes");
      expect((await sha256OfBody(whole)).sha256).toBe(sha256(large));

      const middle = await fetch(url("files", "large.bin"), { headers: { range: "bytes=300000-400123" } });
      expect(middle.status).toBe(206);
      expect(middle.headers.get("content-range")).toBe(`bytes 300000-400123/${large.length}`);
      expect(middle.headers.get("content-length")).toBe("100124");
      expect(Buffer.from(await middle.arrayBuffer()).equals(large.subarray(300000, 400124))).toBe(true);

      const open = await fetch(url("files", "large.bin"), { headers: { range: `bytes=${large.length - 1000}-` } });
      expect(open.status).toBe(206);
      expect(Buffer.from(await open.arrayBuffer()).equals(large.subarray(large.length - 1000))).toBe(true);

      const suffix = await fetch(url("files", "large.bin"), { headers: { range: "bytes=-5000" } });
      expect(suffix.status).toBe(206);
      expect(suffix.headers.get("content-range")).toBe(`bytes ${large.length - 5000}-${large.length - 1}/${large.length}`);
      expect(Buffer.from(await suffix.arrayBuffer()).equals(large.subarray(large.length - 5000))).toBe(true);

      const beyond = await fetch(url("files", "large.bin"), { headers: { range: `bytes=${large.length}-` } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get("content-range")).toBe(`bytes */${large.length}`);
      expect(origin.count("/large.bin")).toBe(1);
    });

    it("answers HEAD with the headers and no body", async () => {
      const head = await fetch(url("files", "large.bin"), { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("x-artifact-source")).toBe("cache");
      expect(head.headers.get("content-length")).toBe(String(large.length));
      expect(head.headers.get("etag")).toBe(`"${sha256(large)}"`);
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    });

    it("answers If-None-Match and If-Modified-Since with 304, and a changed file with 200", async () => {
      const etag = `"${sha256(large)}"`;
      const byTag = await fetch(url("files", "large.bin"), { headers: { "if-none-match": etag } });
      expect(byTag.status).toBe(304);
      expect(byTag.headers.get("etag")).toBe(etag);
      const otherTag = await fetch(url("files", "large.bin"), { headers: { "if-none-match": `"${sha256("other")}"` } });
      expect(otherTag.status).toBe(200);
      await otherTag.arrayBuffer();

      const since = await fetch(url("files", "large.bin"), { headers: { "if-modified-since": LAST_MODIFIED } });
      expect(since.status).toBe(304);
      expect(since.headers.get("last-modified")).toBe(LAST_MODIFIED);
      const later = await fetch(url("files", "large.bin"), { headers: { "if-modified-since": "Wed, 04 Nov 2026 10:00:00 GMT" } });
      expect(later.status).toBe(304);
      const earlier = await fetch(url("files", "large.bin"), { headers: { "if-modified-since": "Mon, 02 Nov 2026 10:00:00 GMT" } });
      expect(earlier.status).toBe(200);
      expect((await sha256OfBody(earlier)).sha256).toBe(sha256(large));
      expect(origin.count("/large.bin")).toBe(1);
    });
  });

  it("answers a range on a miss with 206 and still stores the whole file", async () => {
    const miss = await fetch(url("files", "range-on-miss.bin"), { headers: { range: "bytes=1000-1999" } });
    expect(miss.headers.get("x-artifact-source")).toBe("remote");
    expect(miss.status).toBe(206);
    expect(miss.headers.get("content-range")).toBe(`bytes 1000-1999/${rangeSource.length}`);
    expect(Buffer.from(await miss.arrayBuffer()).equals(rangeSource.subarray(1000, 2000))).toBe(true);

    await eventually(async () => {
      const hit = await fetch(url("files", "range-on-miss.bin"));
      expect(hit.headers.get("x-artifact-source")).toBe("cache");
      expect((await sha256OfBody(hit)).sha256).toBe(sha256(rangeSource));
    });
    expect(origin.count("/range-on-miss.bin")).toBe(1);
  });

  it("answers 504 when the upstream does not answer in time and nothing is cached", async () => {
    const started = Date.now();
    const response = await fetch(url("timeout", "slow.bin"));
    expect(response.status).toBe(504);
    expect((await json(response)).error.code).toBe("UPSTREAM_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(2_900);
  });

  it("refreshes an immutable file after immutable_ttl, and keeps a path immutable_patterns pins", async () => {
    expect(await (await fetch(url("ttl", "kept-a-second.txt"))).text()).toBe("ttl v1");
    const fetchedAt = Date.now();
    const pinned = url("gomod", "example.com/pinned/@v/list");
    const moving = url("gomod", "example.com/moving/@v/list");
    expect(await (await fetch(pinned)).text()).toBe("v1.0.0\n");
    expect(await (await fetch(moving)).text()).toBe("v1.0.0\n");
    origin.serve("/kept-a-second.txt", "ttl v2");
    origin.serve("/example.com/pinned/@v/list", "v1.0.0\nv1.1.0\n");
    origin.serve("/example.com/moving/@v/list", "v1.0.0\nv1.1.0\n");
    expect(await (await fetch(url("ttl", "kept-a-second.txt"))).text()).toBe("ttl v1"); // still fresh

    await sleep(fetchedAt + TTL_SECONDS * 1000 + 200 - Date.now());
    const refreshed = await fetch(url("ttl", "kept-a-second.txt"));
    expect(refreshed.headers.get("x-artifact-source")).toBe("remote");
    expect(await refreshed.text()).toBe("ttl v2");
    // A version list is mutable (mutable_ttl 1 s), unless immutable_patterns pins it.
    expect(await (await fetch(moving)).text()).toBe("v1.0.0\nv1.1.0\n");
    const kept = await fetch(pinned);
    expect(kept.headers.get("x-artifact-source")).toBe("cache");
    expect(await kept.text()).toBe("v1.0.0\n");
    expect(origin.count("/example.com/pinned/@v/list")).toBe(1);
  });

  it("serves a generic remote at the root of its mapped hostname", async () => {
    // The Host header a client of dl.<…>.example.test sends (fetch() would send the proxy's own).
    const onHost = (path: string) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
        request(`${stack.url}${path}`, { headers: { host } }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        })
          .on("error", reject)
          .end();
      });
    const root = await onHost("/readme.txt");
    expect([root.status, root.body]).toEqual([200, "at the root of a mapped host\n"]);
    const nested = await onHost("/nested/dir/tool.tar.gz");
    expect(nested.headers["content-disposition"]).toMatch(/^attachment; filename="tool.tar.gz"/);
    expect(nested.body).toBe("nested file");
    expect((await onHost("/readme.txt")).headers["x-artifact-source"]).toBe("cache");
    // Without the mapped host the same path is no file.
    expect((await fetch(`${stack.url}/readme.txt`)).status).toBe(404);
  });

  it("sends auth of type header to the upstream, and not to a host it redirects to", async () => {
    expect(await (await fetch(url("keyed", "keyed.txt"))).text()).toBe("needs the key");
    expect(origin.requests.find((r) => r.path === "/keyed.txt")?.headers["x-api-key"]).toBe(apiKey);
    expect(await (await fetch(url("keyed", "keyed-moved.txt"))).text()).toBe("moved file");
    const moved = elsewhere.requests.find((r) => r.path === "/keyed-moved.txt");
    expect(moved).toBeDefined();
    expect(moved?.headers["x-api-key"]).toBeUndefined();
  });

  it("keeps the management API locked when ADMIN_TOKEN is unset", async () => {
    for (const authorization of [undefined, "Bearer ", "Bearer anything", `Basic ${btoa("admin:")}`]) {
      const response = await fetch(`${stack.url}/api/v2/remotes`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect((await json(response)).error.message).toMatch(/ADMIN_TOKEN is not set/);
    }
    const write = await fetch(`${stack.url}/api/v2/remotes/${uniqueName("x")}`, { method: "PUT", body: JSON.stringify({ base_url: "https://example.org" }) });
    expect(write.status).toBe(401);
    expect((await fetch(`${stack.url}/api/v2/health`)).status).toBe(200);
  });
});
