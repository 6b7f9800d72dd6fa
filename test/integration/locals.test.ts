import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { stringify } from "yaml";
import { startStack, type Stack } from "../../infra/local/stack.ts";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { cutUpload, eventually, json, sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startRecordingProxy, type RecordingProxy } from "../support/recording-proxy.ts";
import { startOwnRedis, type OwnRedis } from "../support/redis-server.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const cliBin = new URL("../../cli/artifactapi.js", import.meta.url).pathname;

/** curl as a user runs it; the status comes back with the body. */
async function curl(...args: string[]): Promise<{ status: number; body: string }> {
  return statusAndBody((await run("curl", ["-sS", "-w", "\n%{http_code}", ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout);
}

/** `cat file | curl -T - …`: the body on stdin, so curl sends it chunked (no Content-Length). */
async function curlFromStdin(file: string, ...args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run("sh", ["-c", 'curl -sS -w "\n%{http_code}" -T - "$@" < "$0"', file, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return statusAndBody(stdout);
}

function statusAndBody(stdout: string): { status: number; body: string } {
  const cut = stdout.lastIndexOf("\n");
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

/**
 * Local repositories, generic type (issue 11), against the proxy as `npm start` runs it on real
 * Postgres, a Redis of this suite's own (it is flushed) and S3 (the emulator, behind a proxy that
 * records what the Worker asks it), written with curl and the CLI.
 */
describe("generic local repositories", () => {
  const origin = new Origin();
  const admin = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const writer = randomBytes(16).toString("hex");
  const localReader = randomBytes(16).toString("hex");
  const names = { files: uniqueName("files"), small: uniqueName("small"), replace: uniqueName("replace"), guarded: uniqueName("guarded"), mirror: uniqueName("mirror") };
  const host = `${names.files}.dl.example.test`;
  let backends: ExternalBackends;
  let redis: OwnRedis;
  let s3proxy: RecordingProxy;
  let s3: S3Client;
  let stack: TestStack;
  let dir: string;

  const remotes = () => ({
    [names.files]: { type: "local", write_tokens: [`ci:${writer}`], read_tokens: [localReader], hostnames: [host] },
    [names.small]: { type: "local", max_upload_size: 1024 * 1024 },
    [names.replace]: { type: "local", allow_overwrite: true },
    [names.guarded]: { type: "local", private: true, read_tokens: [localReader], write_tokens: [writer], patterns: ["^pub/"], blocklist: ["secret"] },
    [names.mirror]: { base_url: origin.url, allow_private_network: true },
  });
  const at = (local: string, path: string) => `${stack.url}/api/v1/local/${local}/${path}`;
  const url = (local: keyof typeof names, path: string) => at(names[local], path);
  const bearer = (token: string) => ["-H", `Authorization: Bearer ${token}`];
  const api = (path: string, init: RequestInit = {}) => fetch(`${stack.url}/api/v2${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json", ...init.headers } });
  const file = async (name: string, bytes: Buffer | string) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  /** Keys in the bucket under a prefix. */
  const keys = async (prefix: string): Promise<string[]> => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: backends.env.S3_BUCKET, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key!);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "artifactapi-locals-"));
    await origin.start();
    backends = await startExternalBackends();
    redis = await startOwnRedis();
    s3proxy = await startRecordingProxy(backends.env.S3_ENDPOINT!);
    s3 = new S3Client({
      endpoint: backends.env.S3_ENDPOINT,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const env = { ...backends.env, REDIS_URL: redis.url, S3_ENDPOINT: s3proxy.url, ADMIN_TOKEN: admin, READ_TOKEN: reader };
    stack = await startTestStack({ remotes: remotes(), env });
  });

  afterAll(async () => {
    await stack?.destroy();
    await s3proxy?.stop();
    await redis?.stop();
    await backends?.stop();
    await origin.stop();
    s3?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("takes a file with curl -T, with or without X-Checksum-Sha256, and serves it back byte for byte", async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const path = await file("app.tar.gz", bytes);
    const plain = await curl("-T", path, ...bearer(writer), url("files", "releases/v1/app.tar.gz"));
    expect(plain.status).toBe(201);
    expect(JSON.parse(plain.body)).toMatchObject({ path: "releases/v1/app.tar.gz", size: bytes.length, sha256: sha256(bytes), uploaded_by: "ci", result: "created" });

    const checked = await curl("-T", path, ...bearer(writer), "-H", `X-Checksum-Sha256: ${sha256(bytes).toUpperCase()}`, url("files", "releases/v2/app.tar.gz"));
    expect(checked.status).toBe(201);

    for (const version of ["v1", "v2"]) {
      const response = await fetch(url("files", `releases/${version}/app.tar.gz`));
      expect(response.status).toBe(200);
      expect(response.headers.get("x-artifact-source")).toBe("local");
      expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(bytes));
    }
    // Identical bytes at two paths: one blob, at its content address; nothing left under uploads/.
    expect(await keys(`blobs/sha256/${sha256(bytes)}`)).toHaveLength(1);
    expect(await keys("uploads/")).toEqual([]);

    const empty = await curl("-T", await file("empty.txt", ""), ...bearer(writer), url("files", "releases/empty.txt"));
    expect(empty.status).toBe(201);
    const read = await fetch(url("files", "releases/empty.txt"), { headers: { "accept-encoding": "identity" } });
    expect([read.status, read.headers.get("content-length"), await read.text()]).toEqual([200, "0", ""]);
  });

  it("refuses a body whose sha256 is not the declared one, and keeps nothing", async () => {
    const path = await file("damaged.bin", randomBytes(2048));
    const blobsBefore = await keys("blobs/");
    const wrong = await curl("-T", path, ...bearer(writer), "-H", `X-Checksum-Sha256: ${"0".repeat(64)}`, url("files", "damaged.bin"));
    expect(wrong.status).toBe(400);
    expect(JSON.parse(wrong.body).error.code).toBe("CHECKSUM_MISMATCH");
    const malformed = await curl("-T", path, ...bearer(writer), "-H", "X-Checksum-Sha256: not-a-digest", url("files", "damaged.bin"));
    expect(malformed.status).toBe(400);
    expect((await fetch(url("files", "damaged.bin"))).status).toBe(404);
    expect(await keys("blobs/")).toEqual(blobsBefore);
    expect(await keys("uploads/")).toEqual([]);
  });

  it("needs a write token before it reads a byte: 401 without or with an unknown one, 403 with a read-only one", async () => {
    const path = await file("nope.bin", randomBytes(64 * 1024));
    const uploadsBefore = s3proxy.requests.length;
    const none = await curl("-T", path, url("files", "nope.bin"));
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe("UNAUTHORIZED");
    expect((await curl("-T", path, ...bearer("not-a-token"), url("files", "nope.bin"))).status).toBe(401);
    for (const token of [localReader, reader]) {
      const readOnly = await curl("-T", path, ...bearer(token), url("files", "nope.bin"));
      expect(readOnly.status).toBe(403);
      expect(JSON.parse(readOnly.body).error.message).toMatch(/may only read/);
    }
    expect((await curl("-X", "DELETE", ...bearer(localReader), url("files", "releases/v1/app.tar.gz"))).status).toBe(403);
    // Nothing reached the blob store for any of them.
    expect(s3proxy.requests.slice(uploadsBefore).filter((request) => request.url.includes("/uploads/"))).toEqual([]);
    expect((await fetch(url("files", "nope.bin"))).status).toBe(404);
  });

  it("answers 413 for a body over max_upload_size, announced or counted while streaming, and keeps nothing", async () => {
    const path = await file("big.bin", randomBytes(1024 * 1024 + 1));
    const announced = await curl("-T", path, ...bearer(admin), url("small", "big.bin"));
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.body).error.message).toMatch(/limited to 1048576 bytes/);
    const chunked = await curlFromStdin(path, ...bearer(admin), url("small", "big-chunked.bin"));
    expect(chunked.status).toBe(413);
    expect((await fetch(url("small", "big.bin"))).status).toBe(404);
    expect((await fetch(url("small", "big-chunked.bin"))).status).toBe(404);
    await eventually(async () => expect(await keys("uploads/")).toEqual([]));
    const exact = await curl("-T", await file("exact.bin", randomBytes(1024 * 1024)), ...bearer(admin), url("small", "exact.bin"));
    expect(exact.status).toBe(201);
  });

  it("keeps files immutable (409) unless the local allows overwrite, and then serves the new bytes", async () => {
    const first = await file("first.txt", "first version\n");
    const second = await file("second.txt", "second version\n");
    expect((await curl("-T", first, ...bearer(writer), url("files", "notes/readme.txt"))).status).toBe(201);
    const again = await curl("-T", second, ...bearer(writer), url("files", "notes/readme.txt"));
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body).error.code).toBe("ALREADY_EXISTS");
    expect(await (await fetch(url("files", "notes/readme.txt"))).text()).toBe("first version\n");
    // Two uploads racing for one new path: one wins, the other is told so, neither is half-kept.
    const racing = await Promise.all([first, second].map((path) => curl("-T", path, ...bearer(writer), url("files", "notes/race.txt"))));
    expect(racing.map((result) => result.status).sort()).toEqual([201, 409]);
    const winner = JSON.parse(racing.find((result) => result.status === 201)!.body).sha256;
    expect(sha256(await (await fetch(url("files", "notes/race.txt"))).text())).toBe(winner);

    const before = await file("before.txt", "replaceable v1\n");
    expect((await curl("-T", before, ...bearer(admin), url("replace", "readme.txt"))).status).toBe(201);
    expect(await (await fetch(url("replace", "readme.txt"))).text()).toBe("replaceable v1\n");
    const replaced = await curl("-T", second, ...bearer(admin), url("replace", "readme.txt"));
    expect(replaced.status).toBe(200);
    expect(JSON.parse(replaced.body).result).toBe("replaced");
    expect(await (await fetch(url("replace", "readme.txt"))).text()).toBe("second version\n");
    // The replaced bytes belonged to nothing else: their blob goes.
    await eventually(async () => expect(await keys(`blobs/sha256/${sha256("replaceable v1\n")}`)).toEqual([]));
  });

  it("serves HEAD, ranges, conditional requests and the headers of a cached file", async () => {
    const body = "0123456789abcdef\n";
    expect((await curl("-T", await file("digits.txt", body), ...bearer(writer), url("files", "docs/digits.txt"))).status).toBe(201);
    // identity: text is otherwise gzipped on the way out (as Cloudflare's edge does), without a length.
    const full = await fetch(url("files", "docs/digits.txt"), { headers: { "accept-encoding": "identity" } });
    expect(full.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(full.headers.get("content-length")).toBe(String(body.length));
    expect(full.headers.get("content-disposition")).toMatch(/^attachment; filename="digits.txt"/);
    expect(full.headers.get("etag")).toBe(`"${sha256(body)}"`);
    expect(full.headers.get("accept-ranges")).toBe("bytes");
    const lastModified = full.headers.get("last-modified")!;
    expect(Date.parse(lastModified)).toBeGreaterThan(Date.now() - 60_000);
    expect(await full.text()).toBe(body);

    const head = await curl("-I", url("files", "docs/digits.txt"));
    expect(head.status).toBe(200);
    expect(head.body).toMatch(/content-length: 17/i);
    const range = await fetch(url("files", "docs/digits.txt"), { headers: { range: "bytes=10-15" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe("bytes 10-15/17");
    expect(await range.text()).toBe("abcdef");
    expect((await fetch(url("files", "docs/digits.txt"), { headers: { "if-none-match": `"${sha256(body)}"` } })).status).toBe(304);
    expect((await fetch(url("files", "docs/digits.txt"), { headers: { "if-modified-since": lastModified } })).status).toBe(304);
    expect((await fetch(url("files", "docs/missing.txt"))).status).toBe(404);
  });

  it("lists a folder as JSON, as HTML for a browser, a page at a time", async () => {
    for (const name of ["a.txt", "b.txt", "c.txt"]) await curl("-T", await file(name, name), ...bearer(writer), url("files", `listing/${name}`));
    await curl("-T", await file("deep.txt", "deep"), ...bearer(writer), url("files", "listing/sub/deep.txt"));

    const listing = await json(await fetch(url("files", "listing/")));
    expect(listing.entries.map((entry: { name: string; type: string }) => `${entry.type}:${entry.name}`)).toEqual(["file:a.txt", "file:b.txt", "file:c.txt", "folder:sub/"]);
    expect(listing.entries[0]).toMatchObject({ path: "listing/a.txt", size: 5, sha256: sha256("a.txt"), uploaded_by: "ci", url: url("files", "listing/a.txt") });
    expect(listing.next_cursor).toBeNull();

    const pages: string[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page: { entries: { name: string }[]; next_cursor: string | null } = await json(await fetch(`${url("files", "listing/")}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`));
      pages.push(page.entries.map((entry) => entry.name).join(","));
      cursor = page.next_cursor;
    }
    expect(pages).toEqual(["a.txt,b.txt", "c.txt,sub/"]);

    const html = await fetch(url("files", "listing/"), { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const page = await html.text();
    expect(page).toContain('<a href="a.txt">a.txt</a>');
    expect(page).toContain('<a href="sub/">sub/</a>');

    const withoutSlash = await fetch(url("files", "listing"), { redirect: "manual" });
    expect(withoutSlash.status).toBe(301);
    expect(withoutSlash.headers.get("location")).toBe(url("files", "listing/"));
    expect((await fetch(url("files", "no-such-folder/"))).status).toBe(404);
    expect((await json(await fetch(url("files", "")))).entries.map((entry: { name: string }) => entry.name)).toContain("listing/");
  });

  it("deletes a file (204, then 404) and its blob with it", async () => {
    const bytes = randomBytes(4096);
    await curl("-T", await file("gone.bin", bytes), ...bearer(writer), url("files", "tmp/gone.bin"));
    expect(await keys(`blobs/sha256/${sha256(bytes)}`)).toHaveLength(1);
    const deleted = await curl("-X", "DELETE", ...bearer(writer), url("files", "tmp/gone.bin"));
    expect(deleted.status).toBe(204);
    expect((await fetch(url("files", "tmp/gone.bin"))).status).toBe(404);
    expect((await curl("-X", "DELETE", ...bearer(writer), url("files", "tmp/gone.bin"))).status).toBe(404);
    await eventually(async () => expect(await keys(`blobs/sha256/${sha256(bytes)}`)).toEqual([]));
  });

  it("keeps an upload's bytes when the cache evicts a copy of the same bytes, and the other way round", async () => {
    const bytes = randomBytes(64 * 1024);
    origin.serve("/shared.bin", bytes);
    await curl("-T", await file("shared.bin", bytes), ...bearer(writer), url("files", "shared/one.bin"));
    expect(sha256(Buffer.from(await (await fetch(`${stack.url}/api/v1/remote/${names.mirror}/shared.bin`)).arrayBuffer()))).toBe(sha256(bytes));
    await eventually(async () => expect((await json(await api(`/remotes/${names.mirror}/objects`))).objects).toHaveLength(1));

    const evicted = await json(await api(`/remotes/${names.mirror}/objects?path=shared.bin`, { method: "DELETE" }));
    expect(evicted).toMatchObject({ evicted: 1, blobs_deleted: 0 });
    expect(sha256(Buffer.from(await (await fetch(url("files", "shared/one.bin"))).arrayBuffer()))).toBe(sha256(bytes));

    await (await fetch(`${stack.url}/api/v1/remote/${names.mirror}/shared.bin`)).arrayBuffer();
    expect((await curl("-X", "DELETE", ...bearer(writer), url("files", "shared/one.bin"))).status).toBe(204);
    await sleep(300);
    expect(await keys(`blobs/sha256/${sha256(bytes)}`)).toHaveLength(1);
    expect(sha256(Buffer.from(await (await fetch(`${stack.url}/api/v1/remote/${names.mirror}/shared.bin`)).arrayBuffer()))).toBe(sha256(bytes));
  });

  it("follows private, patterns and blocklist for reads and writes", async () => {
    const path = await file("pub.txt", "public file");
    expect((await curl("-T", path, ...bearer(writer), url("guarded", "pub/a.txt"))).status).toBe(201);
    expect((await curl("-T", path, ...bearer(writer), url("guarded", "other/a.txt"))).status).toBe(403);
    expect((await curl("-T", path, ...bearer(writer), url("guarded", "pub/secret.txt"))).status).toBe(403);

    const anonymous = await fetch(url("guarded", "pub/a.txt"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect((await fetch(url("guarded", "pub/"))).status).toBe(401);
    for (const token of [localReader, writer, reader]) {
      expect(await (await fetch(url("guarded", "pub/a.txt"), { headers: { authorization: `Bearer ${token}` } })).text()).toBe("public file");
    }
    // The password of Basic auth, as pip, npm and curl -u send it.
    expect((await curl("-u", `user:${localReader}`, url("guarded", "pub/a.txt"))).body).toBe("public file");
  });

  it("serves the earlier version's short form, where the admin token can write, and refuses writes to a remote there", async () => {
    const path = await file("short.txt", "short form");
    const put = await curl("-T", path, ...bearer(admin), `${stack.url}/api/${names.files}/short/a.txt`);
    expect(put.status).toBe(201);
    expect(JSON.parse(put.body)).toMatchObject({ uploaded_by: "admin", url: `${stack.url}/api/${names.files}/short/a.txt` });
    expect((await curl(`${stack.url}/api/${names.files}/short/a.txt`)).body).toBe("short form");
    expect((await curl(url("files", "short/a.txt"))).body).toBe("short form");
    const toRemote = await curl("-T", path, ...bearer(admin), `${stack.url}/api/${names.mirror}/x.txt`);
    expect(toRemote.status).toBe(405);
  });

  it("serves a local at the root of its mapped hostname, for writes, reads and listings", async () => {
    const path = await file("hosted.txt", "on its own host");
    const put = await curl("-T", path, ...bearer(writer), "-H", `Host: ${host}`, `${stack.url}/hosted/a.txt`);
    expect(put.status).toBe(201);
    expect(JSON.parse(put.body).url).toBe(`http://${host}/hosted/a.txt`);
    expect((await curl("-H", `Host: ${host}`, `${stack.url}/hosted/a.txt`)).body).toBe("on its own host");
    const root = JSON.parse((await curl("-H", `Host: ${host}`, `${stack.url}/`)).body);
    expect(root.entries.map((entry: { name: string }) => entry.name)).toContain("hosted/");
  });

  it("leaves nothing behind when a client goes away mid-upload: no file, no blob, no open multipart upload", async () => {
    const blobsBefore = await keys("blobs/");
    const sent = s3proxy.requests.length;
    for (const [name, declared] of [["cut-small.bin", 1024 * 1024], ["cut-large.bin", 24 * 1024 * 1024]] as const) {
      await cutUpload("PUT", new URL(url("files", `cut/${name}`)), writer, declared, Math.floor(declared / 2));
    }
    await eventually(async () => {
      const requests = s3proxy.requests.slice(sent);
      const created = requests.filter((r) => r.method === "POST" && r.url.includes("?uploads")).map((r) => r.url.split("?")[0]);
      const aborted = requests.filter((r) => r.method === "DELETE" && r.url.includes("uploadId=")).map((r) => r.url.split("?")[0]);
      expect(created.length).toBeGreaterThan(0);
      expect(aborted.sort()).toEqual(created.sort());
      expect(await keys("uploads/")).toEqual([]);
    }, 20_000);
    expect(await keys("blobs/")).toEqual(blobsBefore);
    expect((await fetch(url("files", "cut/cut-small.bin"))).status).toBe(404);
    expect((await fetch(url("files", "cut/cut-large.bin"))).status).toBe(404);
    expect((await fetch(url("files", "cut/"))).status).toBe(404);
  });

  it("records every write as an event, in stats and in the objects browser", async () => {
    const bytes = randomBytes(1000);
    await curl("-T", await file("event.bin", bytes), ...bearer(writer), url("files", "events/e.bin"));
    await curl("-X", "DELETE", ...bearer(writer), url("files", "events/e.bin"));
    await curl("-T", await file("event.bin", bytes), ...bearer(writer), url("files", "events/kept.bin"));
    await (await fetch(url("files", "events/kept.bin"))).arrayBuffer();

    await eventually(async () => {
      const stream = await (await api("/events?backlog=200&timeout=1")).text();
      const events = stream.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)));
      const mine = events.filter((event) => event.remote === names.files && String(event.path).startsWith("events/"));
      expect(mine.map((event) => `${event.type} ${event.path}`)).toEqual(["upload.finished events/e.bin", "upload.deleted events/e.bin", "upload.finished events/kept.bin"]);
      expect(mine[0]).toMatchObject({ size: 1000, sha256: sha256(bytes), by: "ci" });
    });
    const stats = await json(await api("/stats?window=1h"));
    expect(stats.windows["1h"].remotes[names.files].uploads).toBeGreaterThanOrEqual(3);
    expect(stats.windows["1h"].remotes[names.files].bytes_uploaded).toBeGreaterThanOrEqual(2000);
    await eventually(async () => {
      const objects = await json(await api(`/remotes/${names.files}/objects?prefix=events/`));
      expect(objects.objects).toEqual([expect.objectContaining({ path: "events/kept.bin", size: 1000, sha256: sha256(bytes), uploaded_by: "ci", hits: 1 })]);
    });
    const evict = await api(`/remotes/${names.files}/objects?prefix=events/`, { method: "DELETE" });
    expect(evict.status).toBe(400);
  });

  it("manages locals through the management API: type in the body, write tokens write-only, wrong types named", async () => {
    const name = uniqueName("api-local");
    const created = await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ type: "local", package: "generic", write_tokens: ["api-writer-secret"] }) });
    expect(created.status).toBe(201);
    const stored = await json(await api(`/remotes/${name}`));
    expect(stored).toMatchObject({ name, type: "local", package: "generic", write_tokens: { set: true }, max_upload_size: 1073741824 });
    expect(JSON.stringify(stored)).not.toContain("api-writer-secret");
    await eventually(async () => expect((await curl("-T", await file("via-api.txt", "api"), ...bearer("api-writer-secret"), at(name, "x"))).status).toBe(201));

    const rpm = await api(`/remotes/${uniqueName("rpm-local")}`, { method: "PUT", body: JSON.stringify({ type: "local", package: "rpm" }) });
    expect(rpm.status).toBe(400);
    expect((await json(rpm)).error.message).toMatch(/cannot be package 'rpm': locals can be generic, npm, pypi, helm, docker/);
    const openapi = await json(await api("/openapi.json"));
    expect(openapi.components.schemas.Local.properties.write_tokens).toBeDefined();
    expect(openapi.paths["/remotes"].post.requestBody.content["application/json"].schema.oneOf).toHaveLength(2);
  });

  it("uploads with the CLI (streamed, checksummed) and applies a file with a local in it", async () => {
    const cli = async (args: string[]) => {
      const env = { ...process.env, ARTIFACTAPI_ENDPOINT: stack.url, ARTIFACTAPI_TOKEN: admin };
      return run(process.execPath, [cliBin, ...args], { env, timeout: 60_000 }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout + error.stderr }),
      );
    };
    const bytes = randomBytes(9 * 1024 * 1024);
    const uploaded = await cli(["upload", names.files, "cli/tool.bin", await file("tool.bin", bytes)]);
    expect(uploaded.code).toBe(0);
    expect(uploaded.stdout).toMatch(new RegExp(`created ${url("files", "cli/tool.bin")}`));
    expect(sha256(Buffer.from(await (await fetch(url("files", "cli/tool.bin"))).arrayBuffer()))).toBe(sha256(bytes));
    // Refusals come back as the API's errors (the body waits for 100 Continue, so none is cut off).
    const again = await cli(["upload", names.files, "cli/tool.bin", join(dir, "tool.bin")]);
    expect([again.code, again.stdout]).toEqual([1, expect.stringMatching(/409 ALREADY_EXISTS/)]);
    const unauthorized = await cli(["--token", "not-a-token", "upload", names.files, "cli/other.bin", join(dir, "tool.bin")]);
    expect([unauthorized.code, unauthorized.stdout]).toEqual([3, expect.stringMatching(/401 UNAUTHORIZED/)]);

    const applied = uniqueName("applied");
    const desired = join(dir, "desired.yaml");
    await writeFile(desired, stringify({ remotes: { ...remotes(), [applied]: { type: "local", description: "from apply" } } }));
    const dry = await cli(["remotes", "apply", "-f", desired, "--dry-run"]);
    expect(dry.stdout).toMatch(new RegExp(`create\\s+remote\\s+${applied}`));
    expect((await cli(["remotes", "apply", "-f", desired])).code).toBe(0);
    const second = JSON.parse((await cli(["remotes", "apply", "-f", desired, "--json"])).stdout);
    expect(second.changes.filter((change: { action: string }) => change.action !== "unchanged")).toEqual([]);
    await eventually(async () => expect((await curl("-T", join(dir, "tool.bin"), ...bearer(admin), at(applied, "t.bin"))).status).toBe(201));
  });

  it("loses nothing when Redis is flushed and the proxy restarts: every file and listing comes back from Postgres", async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    await curl("-T", await file("durable.bin", bytes), ...bearer(writer), url("files", "durable/d.bin"));
    expect((await fetch(url("files", "durable/d.bin"))).status).toBe(200);
    await redis.flush();
    stack = await stack.restart(remotes());

    expect(sha256(Buffer.from(await (await fetch(url("files", "durable/d.bin"))).arrayBuffer()))).toBe(sha256(bytes));
    expect(await (await fetch(url("files", "notes/readme.txt"))).text()).toBe("first version\n");
    expect(await (await fetch(url("files", "docs/digits.txt"), { headers: { range: "bytes=0-3" } })).text()).toBe("0123");
    expect((await json(await fetch(url("files", "listing/")))).entries).toHaveLength(4);
    expect((await json(await api(`/remotes/${names.files}/objects?prefix=durable/`))).objects).toHaveLength(1);
    // And it is still a local that keeps its rules.
    expect((await curl("-T", await file("durable.bin", bytes), ...bearer(writer), url("files", "durable/d.bin"))).status).toBe(409);
  });
});

/** The earlier Python version's published remotes.yaml, on the embedded default (PGlite, local R2). */
describe("the earlier version's remotes file", () => {
  const admin = randomBytes(16).toString("hex");
  let stack: Stack;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "artifactapi-python-"));
    const configPath = new URL("../fixtures/python-remotes.yaml", import.meta.url).pathname;
    stack = await startStack({ port: 0, configPath, dataDir, env: { ADMIN_TOKEN: admin }, bundleDir: inject("workerBundle") });
  });

  afterAll(async () => {
    await stack?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("loads as published, and its local-generic is writable through /api/local-generic/… with the admin token", async () => {
    const info = await json(await fetch(`${stack.url}/`));
    expect(info.remotes.map((r: { name: string }) => r.name)).toEqual(["almalinux", "alpine", "github", "hashicorp-releases"]);
    expect(info.locals).toEqual([{ name: "local-generic", package: "generic", description: "Local generic file repository" }]);
    const dir = await mkdtemp(join(tmpdir(), "artifactapi-python-file-"));
    try {
      await writeFile(join(dir, "build.tar.gz"), "custom artifact");
      const put = await curl("-T", join(dir, "build.tar.gz"), "-H", `Authorization: Bearer ${admin}`, `${stack.url}/api/local-generic/builds/build.tar.gz`);
      expect(put.status).toBe(201);
      expect((await curl("-T", join(dir, "build.tar.gz"), `${stack.url}/api/local-generic/builds/other.tar.gz`)).status).toBe(401);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const read = await fetch(`${stack.url}/api/local-generic/builds/build.tar.gz`);
    expect(read.headers.get("content-type")).toBe("application/gzip");
    expect(await read.text()).toBe("custom artifact");
  });
});
