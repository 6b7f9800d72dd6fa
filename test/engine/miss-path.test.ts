import { describe, expect, it } from "vitest";
import { CONFIG_VERSION_KEY, currentRemotes } from "../../functions/config/cache.ts";
import { indexKey } from "../../functions/proxy/index-entry.ts";
import { UpstreamError } from "../../functions/proxy/upstream.ts";
import { concat } from "../../infra/blob/memory.ts";
import { bodyOf, Engine, randomBytes, sha256, sleep } from "./harness.ts";

const MiB = 1024 * 1024;

/** Issue 9, "What was seen": each fault of the miss path, on the engine's own seams. */
describe("a slow client", () => {
  it("does not slow the copy: the file is stored at the upstream's pace and others are served meanwhile", async () => {
    const engine = new Engine();
    const file = randomBytes(12 * MiB);
    engine.origin.serve("big.bin", { body: file });
    const slow = engine.request("big.bin");
    const response = await slow.response;
    const reader = response.body!.getReader();
    const first = await reader.read(); // one chunk, then the client stops reading

    // The copy finishes without the client: the entry is committed while it still has not read on.
    await slow.settled;
    expect((await engine.entry("big.bin"))?.sha256).toBe(await sha256(file));
    const other = await engine.get("big.bin");
    expect(other.headers.get("x-artifact-source")).toBe("cache");
    expect(await sha256(await bodyOf(other))).toBe(await sha256(file));

    // The slow client then gets the rest from the stored copy: complete and correct.
    const rest = await bodyOf(new Response(new ReadableStream({ pull: async (c) => { const { done, value } = await reader.read(); if (done) c.close(); else c.enqueue(value); } })));
    expect(await sha256(concat([first.value!, rest]))).toBe(await sha256(file));
    expect(engine.origin.count("big.bin")).toBe(1);
  });

  it("whose copy fails is cut (never a short 200), and nothing is kept", async () => {
    const engine = new Engine();
    engine.origin.serve("cut.bin", { body: randomBytes(4 * MiB), cutAfter: MiB });
    const response = await engine.get("cut.bin");
    expect(response.status).toBe(200);
    await expect(bodyOf(response)).rejects.toThrow();
    expect(await engine.entry("cut.bin")).toBeNull();
    expect((await engine.memoryBlobs.list("")).objects).toEqual([]);
  });
});

describe("waiters", () => {
  it("with mutable_ttl: 0, concurrent requests share one fetch instead of one after another", async () => {
    const engine = new Engine();
    const remote = engine.remote({ mutable_ttl: 0 });
    engine.origin.serve("index.json", { body: new TextEncoder().encode('{"v":1}'), gapMs: 50, chunk: 2, headersAfterMs: 200 });
    const bodies = await Promise.all(Array.from({ length: 5 }, () => engine.get("index.json", { remote, plan: { kind: "mutable" } }).then((r) => r.text())));
    expect(bodies).toEqual(Array(5).fill('{"v":1}'));
    expect(engine.origin.count("index.json")).toBe(1);
  });

  it("with a stale copy serve it after stale_wait instead of waiting for a slow refresh", async () => {
    const engine = new Engine();
    const remote = engine.remote({ mutable_ttl: 1, stale_wait: 0.3 });
    engine.origin.serve("feed.txt", { body: new TextEncoder().encode("v1") });
    expect(await (await engine.get("feed.txt", { remote, plan: { kind: "mutable" } })).text()).toBe("v1");
    await sleep(1_100);
    engine.origin.serve("feed.txt", { body: new TextEncoder().encode("v2"), headersAfterMs: 3_000 });
    const leader = engine.get("feed.txt", { remote, plan: { kind: "mutable" } });
    await sleep(50);
    const started = Date.now();
    const waiter = await engine.get("feed.txt", { remote, plan: { kind: "mutable" } });
    expect(await waiter.text()).toBe("v1");
    expect(waiter.headers.get("warning")).toMatch(/^110 /);
    expect(waiter.headers.get("x-artifact-stale-reason")).toMatch(/refreshing/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await (await leader).text()).toBe("v2");
  });

  it("take over from a leader whose upstream stalled mid-body: the stall fails like a cut, the next request fetches", async () => {
    const engine = new Engine();
    const remote = engine.remote({ upstream_timeout: 0.4 });
    const file = randomBytes(2 * MiB);
    engine.origin.serve("stall.bin", { body: file, stallAfter: MiB });
    const first = await engine.get("stall.bin", { remote });
    await expect(bodyOf(first)).rejects.toThrow(/sent nothing/);
    engine.origin.serve("stall.bin", { body: file });
    const second = await engine.get("stall.bin", { remote });
    expect(await sha256(await bodyOf(second))).toBe(await sha256(file));
    expect(engine.origin.count("stall.bin")).toBe(2);
  });
});

describe("leaders", () => {
  it("a slower leader never overwrites the entry a newer leader committed", async () => {
    const engine = new Engine();
    const remote = engine.remote({ mutable_ttl: 60 });
    const plan = { kind: "mutable" as const };
    // Leader A fetches an older document slowly…
    engine.origin.serve("doc.json", { body: new TextEncoder().encode("old document"), chunk: 4, gapMs: 100 });
    const a = engine.request("doc.json", { remote, plan });
    await a.response;
    // …its lease lapses (as when a renewal is lost), and leader B fetches and commits the newer one.
    await engine.memoryState.delete(`lock:${remote.name}:doc.json`);
    engine.origin.serve("doc.json", { body: new TextEncoder().encode("new document") });
    const b = engine.request("doc.json", { remote, plan });
    expect(await (await b.response).text()).toBe("new document");
    await b.settled;
    await a.settled;
    expect(await (await engine.get("doc.json", { remote, plan })).text()).toBe("new document");
    expect(engine.origin.count("doc.json")).toBe(2);
  });

  it("a leader whose client went away still completes and caches the file", async () => {
    const engine = new Engine();
    const file = randomBytes(3 * MiB);
    engine.origin.serve("left.bin", { body: file, gapMs: 2 });
    const request = engine.request("left.bin");
    await (await request.response).body!.cancel();
    await request.settled;
    expect((await engine.entry("left.bin"))?.sha256).toBe(await sha256(file));
  });

  it("verifies a small file before answering (a clear 502), a large one before its last byte (a cut), and keeps neither", async () => {
    const engine = new Engine();
    const wrong = { algorithm: "sha256" as const, hex: "f".repeat(64) };
    engine.origin.serve("small.tgz", { body: randomBytes(1000) }).serve("large.tgz", { body: randomBytes(9 * MiB) });
    const small = await engine.get("small.tgz", { plan: { verify: wrong } });
    expect(small.status).toBe(502);
    expect(((await small.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
    const large = await engine.get("large.tgz", { plan: { verify: wrong } });
    expect(large.status).toBe(200);
    const received = await bodyOf(large).catch(() => null);
    expect(received).toBeNull();
    expect(await engine.entry("small.tgz")).toBeNull();
    expect(await engine.entry("large.tgz")).toBeNull();
  });

  it("answers a Range on a miss with the requested bytes as they arrive", async () => {
    const engine = new Engine();
    const file = randomBytes(3 * MiB);
    engine.origin.serve("ranged.bin", { body: file });
    const response = await engine.get("ranged.bin", { init: { headers: { range: "bytes=1000-1999" } } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes 1000-1999/${file.byteLength}`);
    expect(await sha256(await bodyOf(response))).toBe(await sha256(file.slice(1000, 2000)));
  });
});

describe("the circuit breaker", () => {
  const breaker = { circuit_breaker: { failures: 3, window: 30, open: 30 } };
  const openKey = (engine: Engine) => `breaker:open:${engine.remoteName}`;

  it("does not count the proxy's own refusals (private addresses, redirect loops)", async () => {
    const engine = new Engine();
    const remote = engine.remote(breaker);
    for (let i = 0; i < 5; i++) {
      engine.origin.serve(`loop-${i}`, { error: new UpstreamError(502, "TOO_MANY_REDIRECTS", "more than 5 redirects") });
      expect((await engine.get(`loop-${i}`, { remote })).status).toBe(502);
    }
    await sleep(50);
    expect(await engine.memoryState.get(openKey(engine))).toBeNull();
  });

  it("is not opened by one path that always fails, and is by failures across paths", async () => {
    const engine = new Engine();
    const remote = engine.remote(breaker);
    engine.origin.serve("always-times-out", { error: new UpstreamError(504, "UPSTREAM_TIMEOUT", "no answer", true) });
    for (let i = 0; i < 5; i++) {
      const request = engine.request("always-times-out", { remote });
      expect((await request.response).status).toBe(504);
      await request.settled;
    }
    expect(await engine.memoryState.get(openKey(engine))).toBeNull();
    engine.origin.serve("other", { status: 503 });
    const other = engine.request("other", { remote });
    expect((await other.response).status).toBe(502);
    await other.settled;
    expect(await engine.memoryState.get(openKey(engine))).not.toBeNull();
    expect((await engine.get("third", { remote })).status).toBe(503);
  });
});

describe("backends failing", () => {
  it("state store down: a cached file is still served (from its metadata record), a miss still streams", async () => {
    const engine = new Engine();
    const file = randomBytes(300_000);
    engine.origin.serve("kept.bin", { body: file }).serve("new.bin", { body: new TextEncoder().encode("fresh") });
    const first = engine.request("kept.bin");
    await bodyOf(await first.response);
    await first.settled;
    await sleep(100); // the metadata record is written after the response

    engine.state.down = true;
    const hit = await engine.get("kept.bin");
    expect(hit.status).toBe(200);
    expect(hit.headers.get("x-artifact-source")).toBe("cache");
    expect(await sha256(await bodyOf(hit))).toBe(await sha256(file));
    expect(await (await engine.get("new.bin")).text()).toBe("fresh");
    expect(engine.origin.count("kept.bin")).toBe(1);
  });

  it("metadata store down: hits unaffected, misses still cached", async () => {
    const engine = new Engine();
    engine.meta.down = true;
    engine.origin.serve("m.bin", { body: new TextEncoder().encode("cached without postgres") });
    const miss = engine.request("m.bin");
    expect(await (await miss.response).text()).toBe("cached without postgres");
    await miss.settled;
    const hit = await engine.get("m.bin");
    expect(hit.headers.get("x-artifact-source")).toBe("cache");
    expect(await hit.text()).toBe("cached without postgres");
    expect(engine.origin.count("m.bin")).toBe(1);
  });

  it("blob store failing: a miss streams to the client uncached; a hit whose blob is gone refetches", async () => {
    const engine = new Engine();
    const file = randomBytes(2 * MiB);
    engine.origin.serve("b.bin", { body: file });
    engine.blobs.failWrites = true;
    const uncached = engine.request("b.bin");
    expect(await sha256(await bodyOf(await uncached.response))).toBe(await sha256(file));
    await uncached.settled;
    expect(await engine.entry("b.bin")).toBeNull();

    engine.blobs.failWrites = false;
    const stored = engine.request("b.bin");
    await bodyOf(await stored.response);
    await stored.settled;
    const entry = (await engine.entry("b.bin"))!;
    await engine.memoryBlobs.delete(entry.blobKey);
    const refetched = await engine.get("b.bin");
    expect(await sha256(await bodyOf(refetched))).toBe(await sha256(file));
    expect(engine.origin.count("b.bin")).toBe(3);
  });
});

describe("blob store failing under a client that lags", () => {
  it("holds the copy to the client's pace instead of detaching it: there is no stored copy to resume from", async () => {
    const engine = new Engine();
    const file = randomBytes(8 * MiB);
    engine.origin.serve("lag.bin", { body: file });
    engine.blobs.failWrites = true;
    const lagging = engine.request("lag.bin");
    const response = await lagging.response;
    await sleep(300); // the upstream's whole body is ready long before the client reads: far over its 2 MiB buffer
    expect(await sha256(await bodyOf(response))).toBe(await sha256(file));
    await lagging.settled;
    expect(await engine.entry("lag.bin")).toBeNull();
    expect(engine.origin.count("lag.bin")).toBe(1);
  });
});

it("keys a lock and an entry per remote and cache key", () => {
  expect(indexKey("r", "a/b")).toBe("idx:r:a/b");
});

describe("hot hits", () => {
  it("cost no state-store round trip, until the version the isolate watches moves (an eviction)", async () => {
    const engine = new Engine();
    engine.origin.serve("hot.txt", { body: new TextEncoder().encode("hot") });
    await currentRemotes(engine.stores);
    const first = engine.request("hot.txt");
    await (await first.response).text();
    await first.settled;
    expect(await (await engine.get("hot.txt")).text()).toBe("hot"); // read from the state store, then kept
    const before = engine.memoryState.roundTrips;
    for (let i = 0; i < 5; i++) expect((await engine.get("hot.txt")).headers.get("x-artifact-source")).toBe("cache");
    expect(engine.memoryState.roundTrips).toBe(before);

    await engine.memoryState.incr(CONFIG_VERSION_KEY);
    await sleep(2_100);
    await currentRemotes(engine.stores);
    const afterBump = engine.memoryState.roundTrips;
    await engine.get("hot.txt");
    expect(engine.memoryState.roundTrips).toBe(afterBump + 1);
  });
});
