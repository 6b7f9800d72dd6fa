import { randomBytes } from "node:crypto";
import { request, type IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cutUpload, eventually, json, sha256 } from "../support/http.ts";
import { ServicesStack } from "../support/services-stack.ts";
import { uniqueName, type TestStack } from "../support/stack.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const digestOf = (bytes: Uint8Array | string) => `sha256:${sha256(bytes)}`;

/**
 * Docker locals (issue 11), the registry v2 push API request by request as clients send it
 * (skopeo's own run is test/e2e/docker-local.test.ts), on Postgres, S3 and a Redis of this
 * suite's own (flushed), as `npm start` runs.
 */
describe("docker local registries: the push protocol", () => {
  const admin = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const writer = randomBytes(16).toString("hex");
  const name = uniqueName("registry");
  const closed = uniqueName("closed");
  const mappedHost = `${name}.registry.example.test`;
  let services: ServicesStack;
  let stack: TestStack;

  const remotes = () => ({
    [name]: { type: "local", package: "docker", write_tokens: [`ci:${writer}`], read_tokens: [reader], max_upload_size: 64 * 1024 * 1024, hostnames: [mappedHost] },
    [closed]: { type: "local", package: "docker", private: true, write_tokens: [writer], read_tokens: [reader] },
  });
  const v2 = (path: string) => `${stack.url}/v2/${name}/${path}`;
  const push = (path: string, init: RequestInit = {}) => fetch(path.startsWith("http") ? path : v2(path), { ...init, headers: { authorization: `Bearer ${writer}`, ...init.headers } });
  const errorCodes = async (response: Response) => ((await json(response)).errors as { code: string }[]).map((error) => error.code);
  /** The absolute URL of a Location header (registries may answer with a path). */
  const located = (response: Response) => new URL(response.headers.get("location")!, stack.url).href;

  async function monolithic(repository: string, bytes: Uint8Array): Promise<string> {
    const digest = digestOf(bytes);
    const response = await push(`${repository}/blobs/uploads/?digest=${digest}`, { method: "POST", body: bytes });
    expect(response.status).toBe(201);
    return digest;
  }

  /** An image manifest whose config and layers are `blobs` (pushed or not). */
  function manifestOf(blobs: Uint8Array[]): string {
    const [config, ...layers] = blobs.map((bytes) => ({ mediaType: "application/octet-stream", digest: digestOf(bytes), size: bytes.byteLength }));
    return JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
  }

  beforeAll(async () => {
    services = new ServicesStack(remotes(), { ADMIN_TOKEN: admin });
    stack = await services.start();
  });

  afterAll(async () => {
    await services?.destroy();
  });

  it("challenges at /v2/ with a token realm that hands out the credentials as a token, anonymous ones too", async () => {
    const ping = await fetch(`${stack.url}/v2/`);
    expect(ping.status).toBe(401);
    const realm = /^Bearer realm="([^"]+)",service="artifactapi"$/.exec(ping.headers.get("www-authenticate")!)?.[1];
    expect(realm).toBe(`${stack.url}/v2/token`);
    const scope = "?service=artifactapi&scope=repository:app:push,pull";
    const anonymous = await json(await fetch(`${realm}${scope}`));
    expect(anonymous).toMatchObject({ token: "anonymous", expires_in: expect.any(Number) });
    const basic = (password: string) => ({ headers: { authorization: `Basic ${btoa(`ci:${password}`)}` } });
    expect((await json(await fetch(`${realm}${scope}`, basic(writer)))).token).toBe(writer);
    expect((await json(await fetch(`${realm}${scope}`, basic(reader)))).token).toBe(reader);
    const wrong = await fetch(`${realm}${scope}`, basic("not-a-token"));
    expect([wrong.status, await errorCodes(wrong)]).toEqual([401, ["UNAUTHORIZED"]]);
    // With the token, the ping answers and an anonymous token still reads public repositories.
    expect((await fetch(`${stack.url}/v2/`, { headers: { authorization: `Bearer ${writer}` } })).status).toBe(200);
    expect((await fetch(v2("app/tags/list"), { headers: { authorization: "Bearer anonymous" } })).status).toBe(404);
  });

  it("refuses writes without a write token: 401 without one (or an anonymous one), 403 with a read token", async () => {
    expect((await fetch(v2("app/blobs/uploads/"), { method: "POST", headers: { authorization: "Bearer anonymous" } })).status).toBe(401);

    const anonymous = await fetch(v2("app/blobs/uploads/"), { method: "POST" });
    expect([anonymous.status, await errorCodes(anonymous)]).toEqual([401, ["UNAUTHORIZED"]]);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    const readOnly = await fetch(v2("app/manifests/1"), { method: "PUT", body: "{}", headers: { authorization: `Bearer ${reader}` } });
    expect([readOnly.status, await errorCodes(readOnly)]).toEqual([403, ["DENIED"]]);
  });

  it("takes a monolithic upload, checks its digest, and serves it to HEAD and GET", async () => {
    const bytes = randomBytes(300 * 1024);
    const digest = await monolithic("app", bytes);
    const head = await fetch(v2(`app/blobs/${digest}`), { method: "HEAD" });
    expect([head.status, head.headers.get("content-length"), head.headers.get("docker-content-digest")]).toEqual([200, String(bytes.length), digest]);
    expect(Buffer.from(await (await fetch(v2(`app/blobs/${digest}`))).arrayBuffer()).equals(bytes)).toBe(true);

    const wrong = await push(`app/blobs/uploads/?digest=${digestOf("something else")}`, { method: "POST", body: randomBytes(1000) });
    expect([wrong.status, await errorCodes(wrong)]).toEqual([400, ["DIGEST_INVALID"]]);
    expect((await fetch(v2(`app/blobs/${digestOf("something else")}`), { method: "HEAD" })).status).toBe(404);
    const unknown = await fetch(v2(`app/blobs/${digestOf("never")}`));
    expect([unknown.status, await errorCodes(unknown)]).toEqual([404, ["BLOB_UNKNOWN"]]);
  });

  it("assembles a chunked upload (PATCH, PATCH, PUT with the last chunk), its session in Postgres across a restart", async () => {
    const chunks = [randomBytes(6 * 1024 * 1024), randomBytes(3 * 1024 * 1024), randomBytes(1234)];
    const whole = Buffer.concat(chunks);
    const started = await push("chunked/blobs/uploads/", { method: "POST" });
    expect(started.status).toBe(202);
    expect(started.headers.get("docker-upload-uuid")).toMatch(/^[0-9a-f-]{36}$/);
    let location = located(started);

    const first = await push(location, { method: "PATCH", body: chunks[0], headers: { "content-range": `0-${chunks[0]!.length - 1}` } });
    expect([first.status, first.headers.get("range")]).toEqual([202, `0-${chunks[0]!.length - 1}`]);
    location = located(first);
    // Out of order: refused, nothing appended.
    const skipped = await push(location, { method: "PATCH", body: chunks[1], headers: { "content-range": `1-${chunks[1]!.length}` } });
    expect([skipped.status, await errorCodes(skipped)]).toEqual([416, ["RANGE_INVALID"]]);

    // The session is a row and its chunks are blobs: a restarted proxy (another isolate) goes on with it.
    stack = await services.restart({ flush: false });
    location = location.replace(/^http:\/\/[^/]+/, stack.url);
    const second = await push(location, { method: "PATCH", body: chunks[1] });
    expect([second.status, second.headers.get("range")]).toEqual([202, `0-${chunks[0]!.length + chunks[1]!.length - 1}`]);
    const status = await push(located(second), { method: "GET" });
    expect([status.status, status.headers.get("range")]).toEqual([204, second.headers.get("range")]);
    const done = await push(`${located(second)}?digest=${digestOf(whole)}`, { method: "PUT", body: chunks[2] });
    expect([done.status, done.headers.get("docker-content-digest")]).toEqual([201, digestOf(whole)]);
    expect(sha256(Buffer.from(await (await fetch(v2(`chunked/blobs/${digestOf(whole)}`))).arrayBuffer()))).toBe(sha256(whole));
    // The session is over.
    expect(await errorCodes(await push(located(second), { method: "PATCH", body: "x" }))).toEqual(["BLOB_UPLOAD_UNKNOWN"]);
  });

  it("refuses a chunked upload whose bytes are not its digest, and keeps nothing", async () => {
    const started = await push("chunked/blobs/uploads/", { method: "POST" });
    const patched = await push(located(started), { method: "PATCH", body: randomBytes(2048) });
    const claimed = digestOf("not these bytes");
    const put = await push(`${located(patched)}?digest=${claimed}`, { method: "PUT" });
    expect([put.status, await errorCodes(put)]).toEqual([400, ["DIGEST_INVALID"]]);
    expect((await fetch(v2(`chunked/blobs/${claimed}`), { method: "HEAD" })).status).toBe(404);
    expect(await errorCodes(await push(located(patched), { method: "GET" }))).toEqual(["BLOB_UPLOAD_UNKNOWN"]);
  });

  it("mounts a blob from another repository, and falls back to a session when the source has none", async () => {
    const digest = await monolithic("source", randomBytes(4096));
    // `from` as the client names it: the local's name first (skopeo and docker send the path they pushed to).
    const unprefixed = await push(`target/blobs/uploads/?mount=${digest}&from=source`, { method: "POST" });
    expect(unprefixed.status).toBe(202);
    const mounted = await push(`target/blobs/uploads/?mount=${digest}&from=${name}/source`, { method: "POST" });
    expect([mounted.status, mounted.headers.get("docker-content-digest")]).toEqual([201, digest]);
    expect((await fetch(v2(`target/blobs/${digest}`), { method: "HEAD" })).status).toBe(200);
    const fallback = await push(`target/blobs/uploads/?mount=${digestOf("absent")}&from=${name}/source`, { method: "POST" });
    expect(fallback.status).toBe(202);
    // A blob is the repository's own: the other repository does not serve it.
    expect((await fetch(v2(`elsewhere/blobs/${digest}`), { method: "HEAD" })).status).toBe(404);
  });

  it("takes a manifest only when every blob it names is in the repository, by tag and by digest", async () => {
    const config = randomBytes(200);
    const layer = randomBytes(5000);
    const manifest = manifestOf([config, layer]);
    const headers = { "content-type": OCI_MANIFEST };
    const early = await push("img/manifests/1.0", { method: "PUT", body: manifest, headers });
    expect(early.status).toBe(400);
    expect(await errorCodes(early)).toEqual(["MANIFEST_BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"]);

    await monolithic("img", config);
    await monolithic("img", layer);
    const wrongDigest = await push(`img/manifests/${digestOf("other")}`, { method: "PUT", body: manifest, headers });
    expect(await errorCodes(wrongDigest)).toEqual(["DIGEST_INVALID"]);
    expect(await errorCodes(await push("img/manifests/bad", { method: "PUT", body: "{not json", headers }))).toEqual(["MANIFEST_INVALID"]);

    const put = await push("img/manifests/1.0", { method: "PUT", body: manifest, headers });
    expect([put.status, put.headers.get("docker-content-digest")]).toEqual([201, digestOf(manifest)]);
    expect((await push(`img/manifests/${digestOf(manifest)}`, { method: "PUT", body: manifest, headers })).status).toBe(201);
    expect((await push("img/manifests/latest", { method: "PUT", body: manifest, headers })).status).toBe(201);

    for (const reference of ["1.0", "latest", digestOf(manifest)]) {
      const got = await fetch(v2(`img/manifests/${reference}`), { headers: { accept: OCI_MANIFEST } });
      expect([got.status, got.headers.get("content-type"), got.headers.get("docker-content-digest"), await got.text()]).toEqual([200, OCI_MANIFEST, digestOf(manifest), manifest]);
    }
    expect(await json(await fetch(v2("img/tags/list")))).toEqual({ name: "img", tags: ["1.0", "latest"] });
    const page = await fetch(v2("img/tags/list?n=1"));
    expect(await json(page)).toEqual({ name: "img", tags: ["1.0"] });
    expect(page.headers.get("link")).toContain("last=1.0");

    // An index needs its manifests in the repository.
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: digestOf(manifest), size: manifest.length }, { mediaType: OCI_MANIFEST, digest: digestOf("x"), size: 1 }] });
    expect(await errorCodes(await push("img/manifests/multi", { method: "PUT", body: index, headers: { "content-type": OCI_INDEX } }))).toEqual(["MANIFEST_BLOB_UNKNOWN"]);
  });

  it("deletes a manifest by digest (its tags go with it) and a tag alone, with upload events", async () => {
    const config = randomBytes(100);
    await monolithic("gone", config);
    const manifest = manifestOf([config]);
    expect((await push("gone/manifests/v1", { method: "PUT", body: manifest, headers: { "content-type": OCI_MANIFEST } })).status).toBe(201);
    expect((await push("gone/manifests/v2", { method: "PUT", body: manifest, headers: { "content-type": OCI_MANIFEST } })).status).toBe(201);
    expect((await push("gone/manifests/v2", { method: "DELETE" })).status).toBe(202);
    expect(await json(await fetch(v2("gone/tags/list")))).toEqual({ name: "gone", tags: ["v1"] });

    expect((await fetch(v2(`gone/manifests/${digestOf(manifest)}`), { method: "DELETE" })).status).toBe(401);
    expect((await push(`gone/manifests/${digestOf(manifest)}`, { method: "DELETE" })).status).toBe(202);
    for (const reference of ["v1", digestOf(manifest)]) {
      const got = await fetch(v2(`gone/manifests/${reference}`));
      expect([got.status, await errorCodes(got)]).toEqual([404, ["MANIFEST_UNKNOWN"]]);
    }
    expect((await push(`gone/manifests/${digestOf(manifest)}`, { method: "DELETE" })).status).toBe(404);
    // Pushed again after the delete: a registry takes it.
    expect((await push("gone/manifests/v1", { method: "PUT", body: manifest, headers: { "content-type": OCI_MANIFEST } })).status).toBe(201);

    const manifestFile = `gone/manifests/${digestOf(manifest)}`;
    await eventually(async () => {
      const stream = await (await fetch(`${stack.url}/api/v2/events?backlog=200&timeout=1`, { headers: { authorization: `Bearer ${admin}` } })).text();
      const events = stream.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)));
      const mine = events.filter((event) => event.remote === name && String(event.path).startsWith("gone/"));
      expect(mine.map((event) => `${event.type} ${event.path}`)).toEqual([
        `upload.finished gone/blobs/${digestOf(config)}`,
        `upload.finished ${manifestFile}`,
        `upload.deleted ${manifestFile}`,
        `upload.finished ${manifestFile}`,
      ]);
    });
  });

  it("deletes a blob from its repository (202, then BLOB_UNKNOWN) unless a manifest still names it (409 DENIED)", async () => {
    const [config, layer, loose, shared] = [randomBytes(100), randomBytes(3000), randomBytes(500), randomBytes(700)];
    for (const bytes of [config, layer, loose, shared]) await monolithic("blobgc", bytes);
    await monolithic("blobgc-other", shared);
    const manifest = manifestOf([config, layer]);
    expect((await push("blobgc/manifests/1", { method: "PUT", body: manifest, headers: { "content-type": OCI_MANIFEST } })).status).toBe(201);

    expect((await fetch(v2(`blobgc/blobs/${digestOf(loose)}`), { method: "DELETE" })).status).toBe(401);
    const deleted = await push(`blobgc/blobs/${digestOf(loose)}`, { method: "DELETE" });
    expect([deleted.status, await deleted.text()]).toEqual([202, ""]);
    const gone = await fetch(v2(`blobgc/blobs/${digestOf(loose)}`));
    expect([gone.status, await errorCodes(gone)]).toEqual([404, ["BLOB_UNKNOWN"]]);
    const again = await push(`blobgc/blobs/${digestOf(loose)}`, { method: "DELETE" });
    expect([again.status, await errorCodes(again)]).toEqual([404, ["BLOB_UNKNOWN"]]);
    expect(await errorCodes(await push("blobgc/blobs/sha256:nothex", { method: "DELETE" }))).toEqual(["NAME_INVALID"]);

    // The same bytes in another repository stay there.
    expect((await push(`blobgc/blobs/${digestOf(shared)}`, { method: "DELETE" })).status).toBe(202);
    expect(Buffer.from(await (await fetch(v2(`blobgc-other/blobs/${digestOf(shared)}`))).arrayBuffer()).equals(shared)).toBe(true);

    // A layer of a manifest here: refused, the image stays pullable; once the manifest is gone, it may go.
    const named = await push(`blobgc/blobs/${digestOf(layer)}`, { method: "DELETE" });
    expect([named.status, await errorCodes(named)]).toEqual([409, ["DENIED"]]);
    expect((await fetch(v2(`blobgc/blobs/${digestOf(layer)}`))).status).toBe(200);
    expect((await push(`blobgc/manifests/${digestOf(manifest)}`, { method: "DELETE" })).status).toBe(202);
    expect((await push(`blobgc/blobs/${digestOf(layer)}`, { method: "DELETE" })).status).toBe(202);
    expect((await fetch(v2(`blobgc/blobs/${digestOf(layer)}`), { method: "HEAD" })).status).toBe(404);
  });

  it("keeps nothing of a PATCH cut mid-way, and the maintenance sweep ends abandoned sessions", async () => {
    const started = await push("cut/blobs/uploads/", { method: "POST" });
    const session = new URL(located(started));
    await cutUpload("PATCH", session, writer, 12 * 1024 * 1024, 6 * 1024 * 1024);
    await eventually(async () => expect((await push(session.href, { method: "GET" })).headers.get("range")).toBe("0-0"));

    const swept = await json(await fetch(`${stack.url}/api/v2/maintenance`, { method: "POST", body: JSON.stringify({ uploads_older_than: 0 }), headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" } }));
    expect(swept.upload_sessions).toBeGreaterThanOrEqual(1);
    expect(await errorCodes(await push(session.href, { method: "GET" }))).toEqual(["BLOB_UPLOAD_UNKNOWN"]);
  });

  it("serves a private registry to its tokens only, and a mapped hostname at its /v2/ with links for that host", async () => {
    const digest = digestOf("private bytes");
    expect((await fetch(`${stack.url}/v2/${closed}/app/blobs/uploads/?digest=${digest}`, { method: "POST", body: "private bytes", headers: { authorization: `Bearer ${writer}` } })).status).toBe(201);
    const anonymous = await fetch(`${stack.url}/v2/${closed}/app/blobs/${digest}`);
    expect([anonymous.status, await errorCodes(anonymous)]).toEqual([401, ["UNAUTHORIZED"]]);
    expect((await fetch(`${stack.url}/v2/${closed}/app/blobs/${digest}`, { headers: { authorization: "Bearer anonymous" } })).status).toBe(401);
    expect(await (await fetch(`${stack.url}/v2/${closed}/app/blobs/${digest}`, { headers: { authorization: `Bearer ${reader}` } })).text()).toBe("private bytes");

    const port = new URL(stack.url).port;
    const started = await hostRequest(port, mappedHost, "POST", "/v2/mapped/blobs/uploads/", writer);
    expect(started.status).toBe(202);
    const location = new URL(started.headers.location as string);
    expect(`${location.host}${location.pathname}`).toMatch(new RegExp(`^${mappedHost.replace(/\./g, "\\.")}/v2/mapped/blobs/uploads/[0-9a-f-]{36}$`));
    const done = await hostRequest(port, mappedHost, "PUT", `${location.pathname}?digest=${digestOf("mapped")}`, writer, "mapped");
    expect([done.status, done.headers.location]).toEqual([201, `http://${mappedHost}/v2/mapped/blobs/${digestOf("mapped")}`]);
    expect(await (await fetch(v2(`mapped/blobs/${digestOf("mapped")}`))).text()).toBe("mapped");
  });

  it("loses nothing when Redis is flushed and the proxy restarts: manifests, tags and blobs come back from Postgres", async () => {
    const layer = randomBytes(9 * 1024 * 1024);
    const config = randomBytes(300);
    await monolithic("durable", config);
    await monolithic("durable", layer);
    const manifest = manifestOf([config, layer]);
    expect((await push("durable/manifests/1", { method: "PUT", body: manifest, headers: { "content-type": OCI_MANIFEST } })).status).toBe(201);
    stack = await services.restart({ flush: true });
    expect(await (await fetch(v2("durable/manifests/1"))).text()).toBe(manifest);
    expect(sha256(Buffer.from(await (await fetch(v2(`durable/blobs/${digestOf(layer)}`))).arrayBuffer()))).toBe(sha256(layer));
    expect(await json(await fetch(v2("durable/tags/list")))).toEqual({ name: "durable", tags: ["1"] });
  });
});

/** A request with the Host header a client of a mapped hostname sends (fetch cannot set it). */
function hostRequest(port: string, host: string, method: string, path: string, token: string, body = ""): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const sent = request({ host: "127.0.0.1", port, method, path, headers: { host, authorization: `Bearer ${token}`, "content-length": Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    sent.on("error", reject);
    sent.end(body);
  });
}
