import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runMaintenance } from "../../functions/maintenance/index.ts";
import { contentKey } from "../../functions/storage/content-address.ts";
import { bodyOf, Engine, randomBytes, sha256, sleep } from "./harness.ts";

/**
 * Issue 10, item 8: storage grows only with what is in use. These tests run on a database of
 * their own: the maintenance run acts on every row of it (a deleted remote's objects, say).
 */
const own = () => new Engine({ databaseUrl: env.BACKENDS.ownDatabaseUrl });
const text = (value: string) => new TextEncoder().encode(value);
const DAY = 24 * 3600_000;

/** A request and its background work (fill, commit, metadata record) done. */
async function fetched(engine: Engine, path: string, options: Parameters<Engine["request"]>[1] = {}): Promise<Response> {
  const request = engine.request(path, options);
  const response = await request.response;
  const body = await bodyOf(response);
  await request.settled;
  await sleep(50);
  return new Response(body, response);
}

describe("growth", () => {
  it("drops the blob of an index document once a newer version replaced it", async () => {
    const engine = own();
    const remote = engine.remote({ mutable_ttl: 1 });
    engine.origin.serve("index.json", { body: text("version 1"), headers: { etag: '"1"' } });
    await fetched(engine, "index.json", { remote, plan: { kind: "mutable" } });
    await sleep(1_100);
    engine.origin.serve("index.json", { body: text("version 2"), headers: { etag: '"2"' } });
    expect(await (await fetched(engine, "index.json", { remote, plan: { kind: "mutable" } })).text()).toBe("version 2");
    await sleep(200);
    expect(await engine.memoryBlobs.head(contentKey(await sha256(text("version 1"))))).toBeNull();
    expect(await engine.memoryBlobs.head(contentKey(await sha256(text("version 2"))))).not.toBeNull();
  });

  it("remembers an upstream 404 for negative_ttl (no upstream request meanwhile), and no longer than mutable_ttl for an index", async () => {
    const engine = own();
    const remote = engine.remote({ negative_ttl: 60, mutable_ttl: 1 });
    for (let i = 0; i < 3; i++) expect((await fetched(engine, "missing.tgz", { remote })).status).toBe(404);
    expect(engine.origin.count("missing.tgz")).toBe(1);

    for (let i = 0; i < 2; i++) expect((await fetched(engine, "simple/none/", { remote, plan: { kind: "mutable" } })).status).toBe(404);
    expect(engine.origin.count("simple/none/")).toBe(1);
    await sleep(1_100);
    engine.origin.serve("simple/none/", { body: text("published") });
    expect(await (await fetched(engine, "simple/none/", { remote, plan: { kind: "mutable" } })).text()).toBe("published");
  });

  it("maintenance: sweeps unreferenced blobs after a grace period, expired state rows, and a deleted remote's objects and keys", async () => {
    const engine = own();
    const file = randomBytes(10_000);
    engine.origin.serve("kept.bin", { body: file });
    await fetched(engine, "kept.bin");
    const stray = randomBytes(100);
    await engine.memoryBlobs.put(contentKey(await sha256(stray)), new Blob([stray]).stream(), stray.byteLength);
    await engine.memoryState.set("absent:gone:x", "404", 1);
    await sleep(20);

    // A day later: the stray blob is past its grace period; the remote was deleted (it never was in the remotes table here).
    const report = await runMaintenance(engine.stores, [], { now: Date.now() + 2 * DAY });
    expect(report.unreferencedBlobs).toBeGreaterThanOrEqual(1);
    expect(await engine.memoryBlobs.head(contentKey(await sha256(stray)))).toBeNull();
    expect(report.expiredStateKeys).toBeGreaterThanOrEqual(1);
    expect(report.purged).toBeGreaterThanOrEqual(1);
    expect(await engine.entry("kept.bin")).toBeNull();
    expect(await engine.memoryBlobs.head(contentKey(await sha256(file)))).toBeNull();
    expect(await engine.meta.artifactEntry(engine.remoteName, "kept.bin")).toBeNull();
  });

  it("retention: evicts what nobody asked for within unused_ttl, and the least recently used above max_size", async () => {
    const engine = own();
    const files = ["a.bin", "b.bin", "c.bin"].map((path) => ({ path, body: randomBytes(40_000) }));
    for (const { path, body } of files) engine.origin.serve(path, { body });
    for (const { path } of files) await fetched(engine, path);
    // Register the remote, so the run applies its rules instead of purging it as deleted.
    const remote = engine.remote({ max_size: 100_000 });
    await engine.meta.putConfig("remotes", { name: remote.name, config: { base_url: remote.base_url } });

    const bySize = await runMaintenance(engine.stores, [remote]);
    expect(bySize.retention).toEqual([{ remote: remote.name, evicted: 1, bytesFreed: 40_000 }]);
    expect(await engine.entry("a.bin")).toBeNull(); // the least recently used
    expect(await engine.entry("c.bin")).not.toBeNull();

    const byAge = await runMaintenance(engine.stores, [{ ...remote, max_size: 0, unused_ttl: 3600 }], { now: Date.now() + 2 * 3600_000 });
    expect(byAge.retention[0]!.evicted).toBe(2);
    expect(await engine.entry("c.bin")).toBeNull();
    // Evicted is not lost: the next request fetches it again.
    expect(await sha256(await bodyOf(await engine.get("c.bin", { remote })))).toBe(await sha256(files[2]!.body));
    await engine.meta.deleteConfig("remotes", remote.name);
  });
});
