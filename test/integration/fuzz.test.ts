import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * Issue 10: whatever a hostile client sends — paths, percent-encodings, headers, query strings,
 * config documents, API bodies — the proxy answers with a documented status (never a 500, never
 * a crash) and stores nothing it was not asked to fetch from a real file. Bounded: a few hundred
 * requests, seeded, so a failure replays.
 */
const ADMIN = "fuzz-admin-token";
const SEED = 20261201;

describe("hostile input", () => {
  const origin = new Origin();
  const names = { files: uniqueName("fuzz-files"), pypi: uniqueName("fuzz-pypi"), npm: uniqueName("fuzz-npm"), hub: uniqueName("fuzz-hub"), secret: uniqueName("fuzz-secret") };
  /** The only files anything may be stored for. */
  const real = new Set(["ok.txt", "dir/file.bin", "simple/demo/", "demo"]);
  let stack: TestStack;

  beforeAll(async () => {
    origin
      .serve("/ok.txt", "ok")
      .serve("/dir/file.bin", Buffer.alloc(2048, 7))
      .serve("/simple/demo/", { body: '<a href="/packages/demo-1.0.tar.gz#sha256=00">demo-1.0.tar.gz</a>', contentType: "text/html" })
      .serve("/demo", { body: JSON.stringify({ name: "demo", versions: {} }), contentType: "application/json" });
    await origin.start();
    const base = { base_url: origin.url, allow_private_network: true, upstream_timeout: 2 };
    stack = await startTestStack({
      remotes: {
        [names.files]: { ...base, blocklist: ["secret"] },
        [names.pypi]: { ...base, package: "pypi" },
        [names.npm]: { ...base, package: "npm" },
        [names.hub]: { ...base, package: "docker" },
        [names.secret]: { ...base, private: true, read_tokens: ["reader"] },
      },
      env: { ADMIN_TOKEN: ADMIN },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  const segment = fc.oneof(
    fc.constantFrom("ok.txt", "dir", "file.bin", "simple", "demo", "..", ".", "%2e%2e", "%2F", "%00", "%", "%zz", "_files", "%5Ffiles", "secret", "v2", "manifests", "blobs", "latest", "sha256:abc", "-", "@scope%2fname"),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
    fc.string({ unit: "grapheme", maxLength: 6 }),
  );
  const path = fc.array(segment, { minLength: 0, maxLength: 5 }).map((parts) => parts.join("/"));
  const query = fc.oneof(fc.constant(""), fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })), { maxLength: 3 }).map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")}`), fc.constantFrom("?%", "?a=%zz", "?n=-1&last=%00"));
  const headerValue = fc.oneof(
    fc.constantFrom("bytes=0-1", "bytes=-0", "bytes=9-3", "bytes=0-1,5-6", "items=0-1", "application/json;q =0.1, */*; q=0.5", "application/vnd.npm.install-v1+json;q=abc", '"x"', "*", "W/\"y\"", "Thu, 01 Jan 1970 00:00:00 GMT", "not a date", "Basic !!!", "Bearer ", "Bearer reader", "Basic dG9rZW46cmVhZGVy", "evil.example", "javascript"),
    fc.string({ maxLength: 20 }).filter((value) => !/[\r\n\0]/.test(value) && [...value].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) < 0x7f)),
  );
  const headers = fc.dictionary(fc.constantFrom("range", "accept", "if-none-match", "if-modified-since", "authorization", "x-forwarded-host", "x-forwarded-proto", "accept-encoding"), headerValue, { maxKeys: 4 });
  const prefix = fc.constantFrom(...Object.values(names).map((name) => `/api/v1/remote/${name}/`), `/api/${names.files}/`, `/v2/${names.hub}/`, "/api/v1/remote/", "/api/", "/v2/", "/", "/api/v2/", "/ui/");

  /** The statuses the proxy documents for client mistakes and upstream answers; anything else (500) is a bug. */
  const documented = new Set([200, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 409, 410, 413, 415, 416, 502, 503, 504]);

  it("answers random requests with a documented status and stays up", async () => {
    await fc.assert(
      fc.asyncProperty(prefix, path, query, headers, fc.constantFrom("GET", "HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS"), async (start, rest, search, sent, method) => {
        const response = await fetch(`${stack.url}${start}${rest}${search}`, { method, headers: sent, redirect: "manual" });
        await response.arrayBuffer().catch(() => undefined); // a cut transfer is a documented outcome for a broken body
        expect(documented.has(response.status), `${method} ${start}${rest}${search} ${JSON.stringify(sent)} → ${response.status}`).toBe(true);
      }),
      { numRuns: 250, seed: SEED },
    );
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
  });

  const jsonValue = fc.jsonValue({ maxDepth: 3 });
  const remoteConfig = fc.oneof(
    jsonValue,
    fc.record(
      {
        base_url: fc.oneof(fc.constant(origin.url), fc.webUrl(), fc.string(), fc.constantFrom("http://127.0.0.1:9/", "ftp://x", "http://user:pw@host/", "http://[::1]/")),
        package: fc.constantFrom("generic", "pypi", "npm", "docker", "nope", "helm"),
        patterns: fc.array(fc.constantFrom("(a+)+$", "^ok", "(?=x)", "\\1", "[", "a{2000}", ".*"), { maxLength: 3 }),
        mutable_ttl: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.double(), fc.string()),
        max_size: fc.oneof(fc.integer({ min: -1, max: 1e9 }), fc.constantFrom("5 GiB", "lots", "1.5MB")),
        auth: fc.oneof(fc.constant(undefined), jsonValue, fc.constant({ type: "bearer", token: "t" })),
        type: fc.constantFrom(undefined, "remote", "local", "virtual"),
      },
      { requiredKeys: [] },
    ),
  );

  it("refuses random config documents with 400 (never 500), and keeps none that was refused", async () => {
    const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
    await fc.assert(
      fc.asyncProperty(remoteConfig, fc.constantFrom("remotes", "virtuals"), async (config, kind) => {
        const name = uniqueName("fuzzed");
        const response = await fetch(`${stack.url}/api/v2/${kind}/${name}?dry_run=${Math.random() < 0.3}`, { method: "PUT", headers: admin, body: JSON.stringify(config) });
        expect([200, 201, 400, 409, 413, 415], `${JSON.stringify(config)} → ${response.status}`).toContain(response.status);
        if (response.status === 400) {
          expect((await json(response)).error.code).toBeTruthy();
          expect((await fetch(`${stack.url}/api/v2/${kind}/${name}`, { headers: admin })).status).toBe(404);
        } else {
          await response.arrayBuffer();
          await fetch(`${stack.url}/api/v2/${kind}/${name}`, { method: "DELETE", headers: admin });
        }
      }),
      { numRuns: 120, seed: SEED },
    );
  });

  it("refuses random API bodies and queries with documented statuses (never 500)", async () => {
    const endpoints = fc.constantFrom("/api/v2/probe", "/api/v2/prefetch", "/api/v2/maintenance", "/api/v2/remotes", `/api/v2/remotes/${names.files}/objects`, "/api/v2/stats", "/api/v2/events");
    const body = fc.oneof(jsonValue.map((value) => JSON.stringify(value)), fc.string({ maxLength: 40 }), fc.constant('{"remote":"' + names.files + '","pattern":"x{1..999999999}"}'));
    await fc.assert(
      fc.asyncProperty(endpoints, body, query, fc.constantFrom("GET", "POST", "DELETE"), fc.constantFrom("application/json", "text/plain", ""), async (endpoint, payload, search, method, type) => {
        const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN}`, ...(type ? { "content-type": type } : {}) } };
        if (method === "POST") init.body = payload;
        // The event stream would stay open: ask for a one-second stream.
        const url = `${stack.url}${endpoint}${endpoint.endsWith("/events") ? "?timeout=1" : search}`;
        const response = await fetch(url, init);
        await response.arrayBuffer();
        expect(documented.has(response.status), `${method} ${url} ${payload} → ${response.status}`).toBe(true);
      }),
      { numRuns: 120, seed: SEED },
    );
  });

  it("stored nothing but real files of the upstream", async () => {
    for (const name of Object.values(names)) {
      const listing = await json(await fetch(`${stack.url}/api/v2/remotes/${name}/objects?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } }));
      for (const object of listing.objects as { path: string }[]) expect(real, `${name}: ${object.path}`).toContain(object.path);
    }
  });
});
