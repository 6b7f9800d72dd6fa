import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tar } from "../support/archives.ts";
import { startOwnBackends, type OwnBackends } from "../support/backends.ts";
import { answerBeforeBody, eventually, json, sha256, sleep } from "../support/http.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";
import { npm as cleanNpm } from "../support/verdaccio.ts";

const run = promisify(execFile);

interface Lockfile {
  packages: Record<string, { version?: string; resolved?: string; integrity?: string }>;
}

/**
 * npm locals (issue 11) with the real npm client against the proxy as `npm start` runs it, on
 * real Postgres, S3 (the emulator) and a Redis of this suite's own (it is flushed).
 */
describe("npm local repositories with npm", () => {
  const admin = randomBytes(16).toString("hex");
  const writer = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const local = uniqueName("team-npm");
  const privateLocal = uniqueName("private-npm");
  const smallLocal = uniqueName("small-npm");
  let backends: OwnBackends;
  let s3: S3Client;
  let stack: TestStack;
  let work: string;
  /** What npm publish reported for each name@version (its integrity). */
  const integrity = new Map<string, string>();

  const registry = (name = local) => `${stack.url}/api/v1/local/${name}/`;
  const remotes = () => ({
    [local]: { type: "local", package: "npm", write_tokens: [`ci-bot:${writer}`], read_tokens: [reader] },
    [privateLocal]: { type: "local", package: "npm", private: true, write_tokens: [writer], read_tokens: [reader] },
    [smallLocal]: { type: "local", package: "npm", write_tokens: [writer], max_upload_size: 64 * 1024 },
  });
  /** An npmrc with a token for the local, keyed by its URL without the scheme, as users write it. */
  const npmrc = async (name: string, token: string | null, repository = local) => {
    const path = join(work, `npmrc-${name}-${repository}`);
    await writeFile(path, token === null ? "" : `${registry(repository).replace(/^http:/, "")}:_authToken=${token}\n`);
    return path;
  };
  const npm = async (cwd: string, args: string[], rc: string, repository = local) =>
    cleanNpm(cwd, [...args, "--registry", registry(repository)], { userconfig: rc, globalconfig: join(work, "empty-npmrc") });
  const api = (path: string) => fetch(`${stack.url}/api/v2${path}`, { headers: { authorization: `Bearer ${admin}` } });
  /** Keys in the bucket under a prefix. */
  const keys = async (prefix: string): Promise<string[]> => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: backends.env.S3_BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  };
  /** Nothing of refused publishes is left once the maintenance sweep ran (it aborts open multipart uploads too): no upload, no blob of their tarballs. */
  const nothingKept = async (...tarballs: Buffer[]) => {
    await eventually(async () => expect(await keys("uploads/")).toEqual([]));
    const swept = await fetch(`${stack.url}/api/v2/maintenance`, { method: "POST", body: JSON.stringify({ uploads_older_than: 0 }), headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" } });
    expect(swept.status).toBe(200);
    expect(await keys("uploads/")).toEqual([]);
    for (const bytes of tarballs) expect(await keys(`blobs/sha256/${sha256(bytes)}`)).toEqual([]);
  };
  /** A package tarball as npm packs it (`package/package.json` first), padded with `extra` bytes of a file that does not compress. */
  const packed = (name: string, version: string, extra = 0) =>
    gzipSync(tar([{ name: "package/package.json", body: JSON.stringify({ name, version }) }, { name: "package/blob.bin", body: randomBytes(extra) }]));
  const sri = (bytes: Buffer) => `sha512-${createHash("sha512").update(bytes).digest("base64")}`;
  /** The document npm publish sends for one version of `name` with `bytes` as its tarball. */
  const publishDocument = (name: string, version: string, bytes: Buffer, dist: Record<string, unknown> = { integrity: sri(bytes) }, length = bytes.length) => ({
    _id: name,
    name,
    "dist-tags": { latest: version },
    versions: { [version]: { name, version, dist: { tarball: `http://elsewhere/${name}-${version}.tgz`, ...dist } } },
    _attachments: { [`${name}-${version}.tgz`]: { content_type: "application/octet-stream", data: bytes.toString("base64"), length } },
  });
  const putDocument = (name: string, body: unknown, repository = local) =>
    fetch(`${registry(repository)}${name}`, { method: "PUT", headers: { authorization: `Bearer ${writer}`, "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

  /** Writes a package's sources; returns its directory. */
  const source = async (name: string, version: string, dependencies: Record<string, string> = {}, main = `module.exports = "${name}@${version}";\n`) => {
    const dir = join(work, "src", `${name.replace("/", "+")}-${version}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "package.json"), JSON.stringify({ name, version, main: "index.js", description: `${name} for tests`, dependencies }));
    await writeFile(join(dir, "index.js"), main);
    await writeFile(join(dir, "README.md"), `# ${name}\n`);
    return dir;
  };
  const publish = async (name: string, version: string, rc: string, dependencies?: Record<string, string>, main?: string, tag = "latest") => {
    // An explicit tag: npm refuses to move `latest` implicitly to a version below it.
    const { stdout } = await npm(await source(name, version, dependencies, main), ["publish", "--json", "--access", "public", "--tag", tag], rc);
    const parsed = JSON.parse(stdout.slice(stdout.indexOf("{"))) as Record<string, { integrity: string }>;
    const report = parsed[name]!; // npm reports each package under its name
    integrity.set(`${name}@${version}`, report.integrity);
    return report;
  };
  /** A new project with a new, empty npm cache: everything comes from the local. */
  const install = async (round: string, dependencies: Record<string, string>, rc: string): Promise<Lockfile> => {
    const project = join(work, `project-${round}`);
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: `app-${round}`, version: "1.0.0", private: true, dependencies }));
    await npm(project, ["install", "--cache", join(work, `cache-${round}`), "--prefer-online"], rc);
    return JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as Lockfile;
  };
  const requireIn = async (round: string, name: string) => (await run(process.execPath, ["-e", `console.log(require(${JSON.stringify(name)}))`], { cwd: join(work, `project-${round}`) })).stdout.trim();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "npm-local-"));
    await writeFile(join(work, "empty-npmrc"), "");
    backends = await startOwnBackends();
    s3 = new S3Client({ endpoint: backends.env.S3_ENDPOINT, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    stack = await startTestStack({ remotes: remotes(), env: { ...backends.env, ADMIN_TOKEN: admin } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    s3?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("publishes a scoped and a plain package with npm publish and installs them with npm install, integrity intact", async () => {
    const rc = await npmrc("writer", writer);
    await publish("@team/util", "1.0.0", rc, {}, "module.exports = (who) => `hello, ${who}`;\n");
    await publish("team-app", "1.0.0", rc, { "@team/util": "^1.0.0" }, "module.exports = require('@team/util')('team');\n");

    const lock = await install("first", { "team-app": "1.0.0" }, await npmrc("anonymous", null));
    expect(await requireIn("first", "team-app")).toBe("hello, team");
    expect(lock.packages["node_modules/team-app"]).toMatchObject({ resolved: `${registry()}team-app/-/team-app-1.0.0.tgz`, integrity: integrity.get("team-app@1.0.0") });
    expect(lock.packages["node_modules/@team/util"]).toMatchObject({ resolved: `${registry()}@team/util/-/util-1.0.0.tgz`, integrity: integrity.get("@team/util@1.0.0") });

    // The abbreviated packument npm installs from, and the full one npm view reads.
    const abbreviated = await fetch(`${registry()}@team%2futil`, { headers: { accept: "application/vnd.npm.install-v1+json" } });
    expect(abbreviated.headers.get("content-type")).toBe("application/vnd.npm.install-v1+json");
    const short = await json(abbreviated);
    expect(short).not.toHaveProperty("readme");
    expect(short.versions["1.0.0"]).not.toHaveProperty("description");
    const full = await json(await fetch(`${registry()}@team%2futil`));
    expect(full).toMatchObject({ _id: "@team/util", name: "@team/util", "dist-tags": { latest: "1.0.0" }, description: "@team/util for tests", readme: "# @team/util\n" });
    expect(full.versions["1.0.0"]).toMatchObject({ _id: "@team/util@1.0.0", description: "@team/util for tests", dist: { integrity: integrity.get("@team/util@1.0.0") } });
    expect(full.time["1.0.0"]).toMatch(/^\d{4}-/);
  });

  it("answers whoami with the token's name, and views, tags and deprecates with npm", async () => {
    const rc = await npmrc("writer", writer);
    expect((await npm(work, ["whoami"], rc)).stdout.trim()).toBe("ci-bot");
    expect((await npm(work, ["whoami"], await npmrc("admin", admin))).stdout.trim()).toBe("admin");

    await publish("@team/util", "1.1.0-beta.1", rc, {}, undefined, "next");
    await npm(work, ["dist-tag", "add", "@team/util@1.1.0-beta.1", "beta"], rc);
    const listed = (await npm(work, ["dist-tag", "ls", "@team/util"], rc)).stdout;
    expect(listed).toContain("beta: 1.1.0-beta.1");
    expect(listed).toContain("latest: 1.0.0");
    expect(listed).toContain("next: 1.1.0-beta.1");
    await npm(work, ["dist-tag", "rm", "@team/util", "beta"], rc);
    expect((await npm(work, ["dist-tag", "ls", "@team/util"], rc)).stdout).not.toContain("beta:");

    await npm(work, ["deprecate", "@team/util@1.0.0", "use 2.x"], rc);
    const viewed = JSON.parse((await npm(work, ["view", "@team/util@1.0.0", "--json"], rc)).stdout) as Record<string, unknown>;
    expect(viewed).toMatchObject({ name: "@team/util", version: "1.0.0", deprecated: "use 2.x", description: "@team/util for tests" });
    const versions = JSON.parse((await npm(work, ["view", "@team/util", "versions", "--json"], rc)).stdout) as string[];
    expect(versions).toEqual(["1.0.0", "1.1.0-beta.1"]);
    // Undeprecated with an empty message, as npm documents.
    await npm(work, ["deprecate", "@team/util@1.0.0", ""], rc);
    expect((await json(await fetch(`${registry()}@team%2futil`))).versions["1.0.0"]).not.toHaveProperty("deprecated");
  });

  it("refuses to publish a version twice (409), even after it was unpublished", async () => {
    const rc = await npmrc("writer", writer);
    // npm itself refuses a version its packument lists; the server's own 409 is shown below and after unpublish.
    await expect(publish("team-app", "1.0.0", rc)).rejects.toThrow(/E409|cannot publish over/);
    await publish("team-app", "1.1.0", rc, { "@team/util": "^1.0.0" });
    await npm(work, ["unpublish", "team-app@1.0.0"], rc);
    const full = await json(await fetch(`${registry()}team-app`));
    expect(Object.keys(full.versions)).toEqual(["1.1.0"]);
    expect(full["dist-tags"]).toEqual({ latest: "1.1.0" });
    expect((await fetch(`${registry()}team-app/-/team-app-1.0.0.tgz`)).status).toBe(404);
    await expect(publish("team-app", "1.0.0", rc, {}, undefined, "old")).rejects.toThrow(/E409|409 Conflict/);

    // Unpublishing the last version removes the package; its versions still cannot come back.
    await publish("solo-pkg", "1.0.0", rc);
    await npm(work, ["unpublish", "solo-pkg@1.0.0", "--force"], rc);
    const gone = await fetch(`${registry()}solo-pkg`);
    expect([gone.status, await gone.json()]).toEqual([404, { error: expect.stringContaining("not found") }]);
    await expect(publish("solo-pkg", "1.0.0", rc)).rejects.toThrow(/E409|409 Conflict/);
  });

  it("needs a write token, checked before the body is read: 401 without one, 403 with a read token", async () => {
    await expect(publish("nobody-pkg", "1.0.0", await npmrc("anonymous", null))).rejects.toThrow(/E401|ENEEDAUTH/);
    await expect(publish("nobody-pkg", "1.0.0", await npmrc("reader", reader))).rejects.toThrow(/E403/);
    const anonymous = await answerBeforeBody(`${registry()}nobody-pkg`, "PUT", { "content-type": "application/json" });
    expect([anonymous.status, JSON.parse(anonymous.body)]).toEqual([401, { error: expect.stringContaining("write tokens") }]);
    const readOnly = await answerBeforeBody(`${registry()}nobody-pkg`, "PUT", { "content-type": "application/json", authorization: `Bearer ${reader}` });
    expect(readOnly.status).toBe(403);
    expect((await fetch(`${registry()}nobody-pkg`)).status).toBe(404);
  });

  it("serves a private local only with a token: npm install with the read token as _authToken", async () => {
    const dir = await source("secret-pkg", "1.0.0");
    await npm(dir, ["publish", "--tag", "latest"], await npmrc("writer", writer, privateLocal), privateLocal);
    const project = join(work, "project-private");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "app-private", version: "1.0.0", private: true, dependencies: { "secret-pkg": "1.0.0" } }));
    const installWith = (rc: string) => npm(project, ["install", "--cache", join(work, `cache-private-${rc.length}`), "--prefer-online"], rc, privateLocal);
    await expect(installWith(await npmrc("anonymous", null, privateLocal))).rejects.toThrow(/E401/);
    await installWith(await npmrc("reader", reader, privateLocal));
    expect((await run(process.execPath, ["-e", "console.log(require('secret-pkg'))"], { cwd: project })).stdout.trim()).toBe("secret-pkg@1.0.0");
  });

  it("computes the tarball's integrity and refuses a publish whose attachment does not match its dist, or is no tarball", async () => {
    const dir = await source("checked-pkg", "1.0.0");
    const { stdout } = await npm(dir, ["pack", "--json", "--pack-destination", work], await npmrc("writer", writer));
    const tarball = await readFile(join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename));
    const document = (bytes: Buffer, dist: Record<string, unknown>, length = bytes.length) => publishDocument("checked-pkg", "1.0.0", bytes, dist, length);
    const put = (body: unknown) => putDocument("checked-pkg", body);
    const tampered = Buffer.from(tarball);
    const middle = Math.floor(tampered.length / 2);
    tampered.writeUInt8(tampered.readUInt8(middle) ^ 0xff, middle);
    const withData = (data: string) => JSON.stringify(document(tarball, {})).replace(tarball.toString("base64"), data);

    const refusals: [unknown, RegExp][] = [
      [document(tarball, { integrity: sri(Buffer.from("other bytes")) }), /dist.integrity .* does not match/],
      [document(tampered, { integrity: sri(tarball) }), /dist.integrity .* does not match/],
      [document(tarball, { shasum: "0".repeat(40) }), /dist.shasum/],
      [document(tarball, { integrity: sri(tarball) }, tarball.length + 1), /declares \d+ bytes/],
      [document(randomBytes(300), {}), /not a gzipped tar/],
      [document(tarball.subarray(0, tarball.length - 12), {}), /not whole/],
      [{ ...document(tarball, {}), versions: { "1.0.0": { name: "other-pkg", version: "1.0.0" } } }, /names other-pkg@1.0.0/],
      [withData(`${tarball.toString("base64").slice(0, 400)}*not base64*`), /not base64/],
      [withData(`${tarball.toString("base64")}\\n`), /not base64/],
      [JSON.stringify(document(tarball, {})).slice(0, -40), /not JSON/],
      [{ ...document(tarball, {}), _attachments: { "checked-pkg-1.0.0.tgz": { data: tarball.toString("base64") }, "checked-pkg-1.0.1.tgz": { data: tarball.toString("base64") } } }, /one attachment/],
    ];
    for (const [body, message] of refusals) {
      const response = await put(body);
      const answer = (await response.json()) as { error: string };
      expect([response.status, answer.error]).toEqual([400, expect.stringMatching(message)]);
    }
    expect((await fetch(`${registry()}checked-pkg`)).status).toBe(404);
    // The refused bytes went into the blob store as they came, and out again.
    await nothingKept(tarball, tampered);

    const accepted = await put(document(tarball, { integrity: sri(tarball) }));
    expect(accepted.status).toBe(201);
    const stored = await json(await fetch(`${registry()}checked-pkg`));
    expect(stored.versions["1.0.0"].dist).toMatchObject({ integrity: sri(tarball), shasum: createHash("sha1").update(tarball).digest("hex"), tarball: `${registry()}checked-pkg/-/checked-pkg-1.0.0.tgz` });
    expect(Buffer.from(await (await fetch(stored.versions["1.0.0"].dist.tarball)).arrayBuffer()).equals(tarball)).toBe(true);
    const again = await put(document(tarball, { integrity: sri(tarball) }));
    expect([again.status, ((await again.json()) as { error: string }).error]).toEqual([409, expect.stringContaining("can never be published again")]);
  });

  it("streams a tarball above the multipart threshold into the blob store, and keeps nothing of a publish cut mid-way", async () => {
    const big = packed("big-pkg", "1.0.0", 20 * 1024 * 1024);
    const published = await putDocument("big-pkg", publishDocument("big-pkg", "1.0.0", big));
    expect(published.status).toBe(201);
    const stored = await json(await fetch(`${registry()}big-pkg`));
    expect(stored.versions["1.0.0"].dist).toMatchObject({ integrity: sri(big), shasum: createHash("sha1").update(big).digest("hex") });
    expect(sha256(Buffer.from(await (await fetch(stored.versions["1.0.0"].dist.tarball)).arrayBuffer()))).toBe(sha256(big));
    expect(await keys(`blobs/sha256/${sha256(big)}`)).toHaveLength(1);

    // A client killed 12 MiB into the attachment (two parts of a multipart upload sent).
    const cut = packed("cut-pkg", "1.0.0", 20 * 1024 * 1024);
    const body = Buffer.from(JSON.stringify(publishDocument("cut-pkg", "1.0.0", cut)));
    const target = new URL(`${registry()}cut-pkg`);
    const socket = connect(Number(target.port), target.hostname);
    await once(socket, "connect");
    socket.on("error", () => {});
    socket.write(`PUT ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${writer}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const sent = body.subarray(0, 16 * 1024 * 1024);
    for (let at = 0; at < sent.length; at += 64 * 1024) if (!socket.write(sent.subarray(at, at + 64 * 1024))) await once(socket, "drain");
    await sleep(1000);
    socket.destroy();
    await nothingKept(cut);
    expect((await fetch(`${registry()}cut-pkg`)).status).toBe(404);
  });

  it("refuses a tarball over max_upload_size with 413, announced or counted as it is decoded, and keeps nothing", async () => {
    const announced = await answerBeforeBody(`${registry(smallLocal)}huge-pkg`, "PUT", { "content-type": "application/json", authorization: `Bearer ${writer}` });
    expect([announced.status, JSON.parse(announced.body)]).toEqual([413, { error: expect.stringContaining("max_upload_size") }]);
    // A Content-Length the document's own fields could explain: the tarball is counted as it is decoded.
    const over = packed("over-pkg", "1.0.0", 80 * 1024);
    const counted = await putDocument("over-pkg", publishDocument("over-pkg", "1.0.0", over), smallLocal);
    expect([counted.status, ((await counted.json()) as { error: string }).error]).toEqual([413, expect.stringContaining("max_upload_size")]);
    await nothingKept(over);
    const fits = packed("fits-pkg", "1.0.0", 1024);
    expect((await putDocument("fits-pkg", publishDocument("fits-pkg", "1.0.0", fits), smallLocal)).status).toBe(201);
  });

  it("lands two new versions of one package published at the same moment", async () => {
    const rc = await npmrc("writer", writer);
    for (const round of [1, 2]) {
      const name = `race-pkg-${round}`;
      await Promise.all(["1.0.0", "1.1.0", "1.2.0"].map((version) => publish(name, version, rc)));
      const full = await json(await fetch(`${registry()}${name}`));
      expect(Object.keys(full.versions).sort()).toEqual(["1.0.0", "1.1.0", "1.2.0"]);
      expect(["1.0.0", "1.1.0", "1.2.0"]).toContain(full["dist-tags"].latest);
    }
  });

  it("records publishes and unpublishes as events and in the objects browser", async () => {
    await eventually(async () => {
      const stream = await (await api("/events?backlog=200&timeout=1")).text();
      const events = stream.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)));
      const mine = events.filter((event) => event.remote === local && String(event.path).startsWith("team-app/"));
      expect(mine.map((event) => `${event.type} ${event.path}`)).toEqual([
        "upload.finished team-app/-/team-app-1.0.0.tgz",
        "upload.finished team-app/-/team-app-1.1.0.tgz",
        "upload.deleted team-app/-/team-app-1.0.0.tgz",
      ]);
      expect(mine[0]).toMatchObject({ by: "ci-bot" });
    });
    const objects = await json(await api(`/remotes/${local}/objects?prefix=@team/`));
    expect(objects.objects.map((object: { path: string }) => object.path)).toEqual(["@team/util/-/util-1.0.0.tgz", "@team/util/-/util-1.1.0-beta.1.tgz"]);
  });

  it("serves packuments from the state store's copy, which every write drops: a write shows on the next read, a flush loses nothing", async () => {
    const rc = await npmrc("writer", writer);
    await publish("cached-pkg", "1.0.0", rc);
    const read = async () => json(await fetch(`${registry()}cached-pkg`));
    // Past the publish's second drop of the copy: this read's copy stays.
    await sleep(2500);
    expect((await read()).description).toBe("cached-pkg for tests");
    await sleep(500);
    // Behind the proxy's back: the rows change, the copy does not (reads are served from it).
    const db = new pg.Client(backends.env.DATABASE_URL);
    await db.connect();
    try {
      await db.query("UPDATE local_packages SET metadata = metadata || '{\"description\": \"changed in Postgres\"}' WHERE local = $1 AND name = 'cached-pkg'", [local]);
      expect((await read()).description).toBe("cached-pkg for tests");
      // Each write drops the copy: the next read has it (and the change made behind the proxy's back).
      await npm(work, ["dist-tag", "add", "cached-pkg@1.0.0", "stable"], rc);
      const tagged = await read();
      expect([tagged["dist-tags"], tagged.description]).toEqual([{ latest: "1.0.0", stable: "1.0.0" }, "changed in Postgres"]);
      await publish("cached-pkg", "1.1.0", rc);
      expect(Object.keys((await read()).versions)).toEqual(["1.0.0", "1.1.0"]);
      await npm(work, ["dist-tag", "rm", "cached-pkg", "stable"], rc);
      expect((await read())["dist-tags"]).toEqual({ latest: "1.1.0" });
      await npm(work, ["deprecate", "cached-pkg@1.0.0", "old"], rc);
      expect((await read()).versions["1.0.0"].deprecated).toBe("old");
      await npm(work, ["unpublish", "cached-pkg@1.0.0"], rc);
      expect(Object.keys((await read()).versions)).toEqual(["1.1.0"]);
      const abbreviated = await json(await fetch(`${registry()}cached-pkg`, { headers: { accept: "application/vnd.npm.install-v1+json" } }));
      expect(Object.keys(abbreviated.versions)).toEqual(["1.1.0"]);

      // A flushed state store: everything from Postgres again.
      await db.query("UPDATE local_packages SET metadata = metadata || '{\"description\": \"changed again\"}' WHERE local = $1 AND name = 'cached-pkg'", [local]);
      await backends.redis.flush();
      expect((await read()).description).toBe("changed again");
      await npm(work, ["unpublish", "cached-pkg", "--force"], rc);
      expect((await fetch(`${registry()}cached-pkg`)).status).toBe(404);
    } finally {
      await db.end();
    }
  });

  it("loses nothing when Redis is flushed and the proxy restarts: packuments rebuild from Postgres", async () => {
    const before = await json(await fetch(`${registry()}@team%2futil`));
    await backends.redis.flush();
    stack = await stack.restart(remotes());
    const after = await json(await fetch(`${registry()}@team%2futil`));
    // The same versions, tags and integrities (the tarball links name the restarted proxy's port).
    const essence = (packument: { versions: Record<string, { dist: { integrity: string } }>; "dist-tags": unknown; time: unknown }) => ({
      tags: packument["dist-tags"],
      time: packument.time,
      integrity: Object.fromEntries(Object.entries(packument.versions).map(([version, manifest]) => [version, manifest.dist.integrity])),
    });
    expect(essence(after)).toEqual(essence(before));
    await install("after-restart", { "team-app": "1.1.0" }, await npmrc("anonymous", null));
    expect(await requireIn("after-restart", "team-app")).toBe("team-app@1.1.0");
    await expect(publish("team-app", "1.1.0", await npmrc("writer", writer))).rejects.toThrow(/E409|cannot publish over/);
  });
});
