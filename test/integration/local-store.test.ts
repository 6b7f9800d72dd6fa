import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startPgWsBridge, type PgWsBridge } from "../../infra/local/pg-ws-bridge.ts";
import type { NewLocalFile } from "../../infra/meta/local-store.ts";
import { applyMigrations } from "../../infra/meta/migrate.ts";
import { PostgresLocalStore } from "../../infra/meta/postgres-locals.ts";
import { PgConnection } from "../../infra/pg/connection.ts";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { sha256, sleep } from "../support/http.ts";

/**
 * The rows of local repositories (LocalStore on Postgres, through the production driver and the
 * WebSocket bridge) that the package types build on: files, versions that can never be published
 * twice, tags, revisions, and the blob locks that keep an upload and a blob deletion apart.
 */
describe("LocalStore on Postgres", () => {
  let backends: ExternalBackends;
  let bridge: PgWsBridge;
  const connections: PgConnection[] = [];
  let store: PostgresLocalStore;

  /** A store on a connection of its own, as a second request would have. */
  const open = () => {
    const pg = new PgConnection({ databaseUrl: backends.env.DATABASE_URL!, wsProxy: bridge.wsProxy, webSocketConstructor: WebSocket });
    connections.push(pg);
    return { pg, store: new PostgresLocalStore(pg) };
  };
  const newFile = (local: string, path: string, content: string): NewLocalFile => ({
    local,
    path,
    sha256: sha256(content),
    size: content.length,
    contentType: "application/octet-stream",
    uploadedBy: "ci",
  });
  const tarball = (name: string, version: string) => ({ ...newFile("npm", `${name}/-/${name}-${version}.tgz`, `${name}@${version}`) });

  beforeAll(async () => {
    backends = await startExternalBackends();
    bridge = await startPgWsBridge({ allowedAddress: "127.0.0.1:5432" });
    const first = open();
    await applyMigrations(first.pg);
    store = first.store;
  });

  afterAll(async () => {
    await Promise.all(connections.map((pg) => pg.close()));
    await bridge?.close();
    await backends?.stop();
  });

  it("keeps one file per path: a second write is refused unless it replaces, and says what it replaced", async () => {
    const first = await store.withBlobLocks([sha256("one")], (locked) => locked.insertLocalFile(newFile("files", "a/b.txt", "one"), { replace: false }));
    expect(first.previous).toBeNull();
    expect(first.stored).toMatchObject({ path: "a/b.txt", sha256: sha256("one"), size: 3, uploadedBy: "ci", package: null, version: null });

    const refused = await store.withBlobLocks([sha256("two")], (locked) => locked.insertLocalFile(newFile("files", "a/b.txt", "two"), { replace: false }));
    expect(refused.stored).toBeNull();
    expect(refused.previous?.sha256).toBe(sha256("one"));

    const replaced = await store.withBlobLocks([sha256("two")], (locked) => locked.insertLocalFile(newFile("files", "a/b.txt", "two"), { replace: true }));
    expect(replaced.previous?.sha256).toBe(sha256("one"));
    expect((await store.getLocalFile("files", "a/b.txt"))?.sha256).toBe(sha256("two"));
    expect(await store.withBlobLocks([sha256("one"), sha256("two")], (locked) => locked.referencedBlobs([sha256("one"), sha256("two")]))).toEqual(new Set([sha256("two")]));
  });

  it("lists a folder with an index probe per entry, and a prefix as a range, never reading the other files", async () => {
    const { pg } = open();
    await pg.query(
      `INSERT INTO local_files (local, path, sha256, size, content_type, uploaded_by)
       SELECT 'scan', path, md5(path), 1, 'application/octet-stream', 'ci' FROM (
         SELECT 'big/deep/' || i || '.bin' AS path FROM generate_series(1, 3000) i
         UNION ALL SELECT 'big/sub/' || i || '.bin' FROM generate_series(1, 1000) i
         UNION ALL SELECT 'bigger/' || i || '.bin' FROM generate_series(1, 1000) i
         UNION ALL SELECT unnest(ARRAY['big/a.txt', 'big/B.txt', 'big/c.txt', 'a.txt'])
       ) paths`,
    );
    await pg.query("ANALYZE local_files");
    // The store's queries run as they are, and once more under EXPLAIN ANALYZE to see what they read.
    const plans: PlanNode[] = [];
    const explaining = {
      query: async (sql: string, params: unknown[] = []) => {
        const [explained] = await pg.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
        plans.push(explained!["QUERY PLAN"][0]!.Plan);
        return pg.query(sql, params);
      },
    } as unknown as PgConnection;
    const probed = new PostgresLocalStore(explaining);
    expect((await probed.listLocalFolder("scan", "big/", { limit: 10 })).map((entry) => entry.name)).toEqual(["B.txt", "a.txt", "c.txt", "deep/", "sub/"]);
    expect((await probed.listLocalFolder("scan", "big/", { after: "deep/", limit: 10 })).map((entry) => entry.name)).toEqual(["sub/"]);
    expect((await probed.listLocalFolder("scan", "", { limit: 10 })).map((entry) => entry.name)).toEqual(["a.txt", "big/", "bigger/"]);
    // A prefix search (the objects browser) is a range of the same index.
    expect((await probed.listLocalFiles("scan", { prefix: "big/s", after: "big/sub/1.bin", limit: 3 })).map((file) => file.path)).toEqual(["big/sub/10.bin", "big/sub/100.bin", "big/sub/1000.bin"]);
    for (const plan of plans) {
      const reads = scansOf(plan, "local_files");
      expect(reads.map((node) => node["Node Type"])).not.toContain("Seq Scan");
      // Each probe returns one row (or none); the folder's 4,000 files below are never read.
      expect(reads.reduce((rows, node) => rows + (node["Actual Rows"] + (node["Rows Removed by Filter"] ?? 0)) * node["Actual Loops"], 0)).toBeLessThan(40);
    }
  });

  it("lists a folder's files and sub-folders by name, a page at a time, and deletes", async () => {
    for (const path of ["list/x.txt", "list/y.txt", "list/sub/z.txt", "list/sub/deeper/w.txt", "listing-not-inside.txt"]) {
      await store.withBlobLocks([sha256(path)], (locked) => locked.insertLocalFile(newFile("files", path, path), { replace: false }));
    }
    const entries = await store.listLocalFolder("files", "list/", { limit: 10 });
    expect(entries.map((entry) => `${entry.kind}:${entry.name}`)).toEqual(["folder:sub/", "file:x.txt", "file:y.txt"]);
    expect((await store.listLocalFolder("files", "list/", { after: "sub/", limit: 1 })).map((entry) => entry.name)).toEqual(["x.txt"]);
    expect((await store.listLocalFolder("files", "", { limit: 10 })).map((entry) => entry.name)).toEqual(["a/", "list/", "listing-not-inside.txt"]);
    expect((await store.listLocalFiles("files", { prefix: "list/sub/", limit: 10 })).map((file) => file.path)).toEqual(["list/sub/deeper/w.txt", "list/sub/z.txt"]);

    expect((await store.deleteLocalFile("files", "list/x.txt"))?.path).toBe("list/x.txt");
    expect(await store.deleteLocalFile("files", "list/x.txt")).toBeNull();
    expect(await store.getLocalFile("files", "list/x.txt")).toBeNull();
  });

  it("publishes a version with its files and tags once; the same version again, or a taken file path, changes nothing", async () => {
    const published = await store.withBlobLocks([], (locked) =>
      locked.publishVersion({
        local: "npm",
        package: { name: "left-pad", displayName: "left-pad", metadata: { description: "pads" } },
        version: "1.0.0",
        metadata: { name: "left-pad", version: "1.0.0" },
        publishedBy: "ci",
        files: [tarball("left-pad", "1.0.0")],
        tags: { latest: "1.0.0" },
      }),
    );
    expect(published).toEqual({ result: "published", revision: 1 });
    const again = await store.withBlobLocks([], (locked) =>
      locked.publishVersion({ local: "npm", package: { name: "left-pad", displayName: "left-pad" }, version: "1.0.0", metadata: {}, publishedBy: "ci", files: [], tags: { latest: "1.0.0" } }),
    );
    expect(again).toEqual({ result: "exists" });
    // 1.0.1 whose tarball path is taken (by a generic-style row): nothing of 1.0.1 is kept.
    await store.withBlobLocks([], (locked) => locked.insertLocalFile(newFile("npm", "left-pad/-/left-pad-1.0.1.tgz", "squatter"), { replace: false }));
    const clash = await store.withBlobLocks([], (locked) =>
      locked.publishVersion({ local: "npm", package: { name: "left-pad", displayName: "left-pad" }, version: "1.0.1", metadata: {}, publishedBy: "ci", files: [tarball("left-pad", "1.0.1")], tags: { latest: "1.0.1" } }),
    );
    expect(clash).toEqual({ result: "exists" });

    const state = await store.readPackage("npm", "left-pad");
    expect(state?.package).toMatchObject({ name: "left-pad", displayName: "left-pad", metadata: { description: "pads" }, revision: 1 });
    expect(state?.versions.map((version) => version.version)).toEqual(["1.0.0"]);
    expect(state?.versions[0]).toMatchObject({ metadata: { name: "left-pad", version: "1.0.0" }, publishedBy: "ci", deletedAt: null });
    expect(state?.tags).toEqual({ latest: "1.0.0" });
    expect(state?.files.map((file) => `${file.path} ${file.version}`)).toEqual(["left-pad/-/left-pad-1.0.0.tgz 1.0.0"]);
    expect(await store.readPackage("npm", "no-such-package")).toBeNull();
  });

  it("moves tags and metadata of live versions only, bumping the revision", async () => {
    expect(await store.setTag("npm", "left-pad", "beta", "9.9.9")).toBe(false);
    expect(await store.setTag("npm", "left-pad", "beta", "1.0.0")).toBe(true);
    expect(await store.setVersionMetadata("npm", "left-pad", "1.0.0", { deprecated: "use String.prototype.padStart" })).toBe(true);
    expect(await store.setVersionMetadata("npm", "left-pad", "7.0.0", {})).toBe(false);
    expect(await store.deleteTag("npm", "left-pad", "beta")).toBe(true);
    expect(await store.deleteTag("npm", "left-pad", "beta")).toBe(false);
    const state = await store.readPackage("npm", "left-pad");
    expect(state?.package.revision).toBe(4);
    expect(state?.versions[0]?.metadata).toEqual({ deprecated: "use String.prototype.padStart" });
  });

  it("unpublishes a version: its files and tags go, and it can never be published again", async () => {
    const removed = await store.unpublishVersion("npm", "left-pad", "1.0.0");
    expect(removed?.map((file) => file.path)).toEqual(["left-pad/-/left-pad-1.0.0.tgz"]);
    expect(await store.unpublishVersion("npm", "left-pad", "1.0.0")).toBeNull();
    const state = await store.readPackage("npm", "left-pad");
    expect(state?.versions[0]?.deletedAt).toBeInstanceOf(Date);
    expect(state?.tags).toEqual({});
    expect(state?.files).toEqual([]);
    expect((await store.listPackages("npm")).map((p) => p.name)).not.toContain("left-pad");
    const republish = await store.withBlobLocks([], (locked) =>
      locked.publishVersion({ local: "npm", package: { name: "left-pad", displayName: "left-pad" }, version: "1.0.0", metadata: {}, publishedBy: "ci", files: [tarball("left-pad", "1.0.0")] }),
    );
    expect(republish).toEqual({ result: "exists" });
  });

  it("publishes an unpublished version again only when the type allows it (helm, docker)", async () => {
    const chart = (republish: boolean) =>
      store.withBlobLocks([], (locked) =>
        locked.publishVersion({ local: "helm", package: { name: "web", displayName: "web" }, version: "1.0.0", metadata: { republish }, publishedBy: "ci", files: [newFile("helm", "charts/web-1.0.0.tgz", `web ${republish}`)], republish }),
      );
    expect((await chart(true)).result).toBe("published");
    expect((await chart(true)).result).toBe("exists"); // a live version is never replaced
    await store.unpublishVersion("helm", "web", "1.0.0");
    expect((await chart(false)).result).toBe("exists");
    expect((await chart(true)).result).toBe("published");
    const state = await store.readPackage("helm", "web");
    expect(state?.versions).toEqual([expect.objectContaining({ version: "1.0.0", deletedAt: null, metadata: { republish: true } })]);
    expect(state?.files.map((file) => file.sha256)).toEqual([sha256("web true")]);
  });

  it("lands two versions of one new package published at once from two connections", async () => {
    const [a, b] = [open().store, open().store];
    const publish = (target: PostgresLocalStore, version: string) =>
      target.withBlobLocks([sha256(`is-even@${version}`)], (locked) =>
        locked.publishVersion({ local: "npm", package: { name: "is-even", displayName: "is-even" }, version, metadata: { version }, publishedBy: "ci", files: [tarball("is-even", version)], tags: { [`v${version}`]: version } }),
      );
    const results = await Promise.all([publish(a, "1.0.0"), publish(b, "2.0.0")]);
    expect(results.map((result) => result.result)).toEqual(["published", "published"]);
    const state = await store.readPackage("npm", "is-even");
    expect(state?.versions.map((version) => version.version).sort()).toEqual(["1.0.0", "2.0.0"]);
    expect(state?.package.revision).toBe(2);
    expect(state?.files).toHaveLength(2);
  });

  it("lets only one transaction at a time hold a blob's lock; other blobs are not held up", async () => {
    const [a, b, c] = [open().store, open().store, open().store];
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = a.withBlobLocks([sha256("contended")], async () => {
      order.push("a in");
      await held;
      order.push("a out");
    });
    await sleep(200);
    const second = b.withBlobLocks([sha256("contended"), sha256("other")], async () => void order.push("b in"));
    const unrelated = c.withBlobLocks([sha256("unrelated")], async () => void order.push("c in"));
    await unrelated;
    await sleep(200);
    expect(order).toEqual(["a in", "c in"]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["a in", "c in", "a out", "b in"]);
  });
});

/** A node of a JSON query plan (EXPLAIN (ANALYZE, FORMAT JSON)). */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

/** The plan's nodes that read `table`. */
function scansOf(plan: PlanNode, table: string): PlanNode[] {
  return [...(plan["Relation Name"] === table ? [plan] : []), ...(plan.Plans ?? []).flatMap((child) => scansOf(child, table))];
}
