import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, json, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const ADMIN = "hot-path-admin-token";
const READER = "hot-path-read-token";

/**
 * Hot hits answered before routing (functions/proxy/hot-route.ts), against the proxy as
 * `npm start` runs it: they must be the answers the full path gives — same headers, same
 * access rules, same stats — and must stop within ~2 s when an eviction or a config change
 * says so. Each request here is repeated, so the second and later ones take the hot path.
 */
describe("hot hits answered before routing", () => {
  const origin = new Origin();
  const names = { files: uniqueName("hot"), mapped: uniqueName("hotmapped") };
  const host = `${uniqueName("hot")}.example.test`;
  let stack: TestStack;

  const url = (path: string, remote = names.files) => `${stack.url}/api/v1/remote/${remote}/${path}`;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.url}/api/v2${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json", ...init.headers } });
  /** Headers a client compares between answers; Date changes by the second. */
  const comparable = (response: Response) => Object.fromEntries([...response.headers].filter(([name]) => name !== "date"));
  const cachedCopy = async (target: string) => {
    await eventually(async () => {
      const response = await fetch(target);
      await response.arrayBuffer();
      expect(response.headers.get("x-artifact-source")).toBe("cache");
    });
  };

  beforeAll(async () => {
    origin
      .serve("/a.txt", { body: "hot file a", headers: { "last-modified": "Tue, 03 Nov 2026 10:00:00 GMT" } })
      .serve("/b.txt", "hot file b")
      .serve("/private.txt", "made private")
      .serve("/dir/tool.tar.gz", "tool bytes")
      .serve("/readme.txt", "at the root of a mapped host\n");
    await origin.start();
    const local = { base_url: origin.url, allow_private_network: true };
    stack = await startTestStack({ remotes: { [names.files]: local, [names.mapped]: { ...local, hostnames: [host] } }, env: { ADMIN_TOKEN: ADMIN } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  it("answers a repeated hit with the full path's headers and body, and ranges and validators still work", async () => {
    const target = url("dir/tool.tar.gz");
    await cachedCopy(target);
    const full = await fetch(target);
    const fullHeaders = comparable(full);
    expect(await full.text()).toBe("tool bytes");
    for (let i = 0; i < 5; i++) {
      const again = await fetch(target);
      expect(comparable(again)).toEqual(fullHeaders);
      expect(await again.text()).toBe("tool bytes");
    }
    const head = await fetch(target, { method: "HEAD" });
    expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, "10", ""]);
    const range = await fetch(target, { headers: { range: "bytes=5-" } });
    expect([range.status, await range.text()]).toEqual([206, "bytes"]);
    const conditional = await fetch(target, { headers: { "if-none-match": fullHeaders.etag! } });
    expect(conditional.status).toBe(304);
    expect(origin.count("/dir/tool.tar.gz")).toBe(1);
  });

  it("counts hot hits in the stats", async () => {
    const target = url("b.txt");
    await cachedCopy(target);
    const statsOf = async () => (await json(await api("/stats?window=1h"))).windows["1h"].remotes[names.files] as { hits: number } | undefined;
    // The counters are written at most once a second per isolate; wait for what is buffered to land.
    await sleep(1_500);
    await fetch(target).then((response) => response.arrayBuffer());
    await sleep(1_500);
    const before = (await statsOf())?.hits ?? 0;
    for (let i = 0; i < 20; i++) await fetch(target).then((response) => response.arrayBuffer());
    await eventually(async () => {
      // Another request takes the full path once the counters are due, and writes them.
      await fetch(target).then((response) => response.arrayBuffer());
      expect((await statsOf())!.hits).toBeGreaterThanOrEqual(before + 20);
    }, 10_000);
  });

  it("stops answering an evicted file within ~2 s", async () => {
    const target = url("a.txt");
    await cachedCopy(target);
    for (let i = 0; i < 3; i++) expect((await fetch(target)).headers.get("x-artifact-source")).toBe("cache");
    const evicted = await json(await api(`/remotes/${names.files}/objects?path=a.txt`, { method: "DELETE" }));
    expect(evicted.evicted).toBe(1);
    await sleep(2_500);
    const after = await fetch(target);
    expect(after.headers.get("x-artifact-source")).toBe("remote");
    expect(await after.text()).toBe("hot file a");
  });

  it("applies a remote turned private within ~2 s, and serves it to a reader's token", async () => {
    const target = url("private.txt");
    await cachedCopy(target);
    for (let i = 0; i < 3; i++) expect((await fetch(target)).status).toBe(200);
    const stored = await json(await api(`/remotes/${names.files}`));
    const updated = await api(`/remotes/${names.files}`, { method: "PUT", body: JSON.stringify({ ...stored, private: true, read_tokens: [READER] }) });
    expect(updated.status).toBeLessThan(300);
    await sleep(2_500);
    for (let i = 0; i < 3; i++) expect((await fetch(target)).status).toBe(401);
    // A reader's hits make the route hot; a request without the token must still be refused.
    for (let i = 0; i < 3; i++) {
      const reader = await fetch(target, { headers: { authorization: `Bearer ${READER}` } });
      expect([reader.status, await reader.text()]).toEqual([200, "made private"]);
    }
    for (let i = 0; i < 3; i++) expect((await fetch(target)).status).toBe(401);
  });

  it("keeps a mapped hostname's paths their own: the canonical path on that host is not the file", async () => {
    const onHost = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        httpRequest(`${stack.url}${path}`, { headers: { host } }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on("error", reject)
          .end();
      });
    for (let i = 0; i < 4; i++) expect(await onHost("/readme.txt")).toEqual({ status: 200, body: "at the root of a mapped host\n" });
    // On the mapped host this path is the remote's file "api/v1/remote/<name>/readme.txt", which the origin does not have.
    const canonical = await onHost(`/api/v1/remote/${names.mapped}/readme.txt`);
    expect(canonical.status).toBe(404);
  });
});
