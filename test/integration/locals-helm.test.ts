import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { tar } from "../support/archives.ts";
import { eventually, json, sha256 } from "../support/http.ts";
import { ServicesStack } from "../support/services-stack.ts";
import { uniqueName, type TestStack } from "../support/stack.ts";

/** A chart archive as `helm package` lays it out: `<name>/Chart.yaml` first, then its templates. */
function chartArchive(chartYaml: string, folder: string, extra: { name: string; body: string }[] = []): Buffer {
  return gzipSync(tar([{ name: `${folder}/Chart.yaml`, body: chartYaml }, { name: `${folder}/values.yaml`, body: "replicas: 1\n" }, ...extra]));
}

function chart(name: string, version: string, fields: Record<string, unknown> = {}): Buffer {
  return chartArchive(stringify({ apiVersion: "v2", name, version, description: `the ${name} chart`, type: "application", ...fields }), name);
}

/**
 * Helm locals (issue 11): ChartMuseum's API, and the repository as helm walks it (index.yaml →
 * chart URL → digest), on Postgres, S3 and a Redis of this suite's own (flushed), as `npm start` runs.
 */
describe("helm local repositories (ChartMuseum API)", () => {
  const admin = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const writer = randomBytes(16).toString("hex");
  const names = { charts: uniqueName("charts"), closed: uniqueName("closed") };
  let services: ServicesStack;
  let stack: TestStack;

  const remotes = () => ({
    [names.charts]: { type: "local", package: "helm", write_tokens: [`ci:${writer}`] },
    [names.closed]: { type: "local", package: "helm", private: true, read_tokens: [reader], write_tokens: [writer], max_upload_size: 64 * 1024 },
  });
  const base = (local: keyof typeof names) => `${stack.url}/api/v1/local/${names[local]}`;
  const post = (local: keyof typeof names, body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${base(local)}/api/charts`, { method: "POST", body, headers: { authorization: `Bearer ${writer}`, ...headers } });

  /** What helm does with a repository: read index.yaml, pick a version, download its URL, check its digest. */
  async function helmPull(local: keyof typeof names, name: string, version: string, init: RequestInit = {}): Promise<Buffer> {
    const response = await fetch(`${base(local)}/index.yaml`, init);
    expect(response.status).toBe(200);
    const index = parse(await response.text());
    expect(index.apiVersion).toBe("v1");
    expect(Number.isNaN(Date.parse(index.generated))).toBe(false);
    const entry = (index.entries[name] as Record<string, unknown>[]).find((candidate) => candidate.version === version)!;
    // The fields helm's ChartVersion.Validate and `helm search`/`helm pull` read.
    expect(entry).toMatchObject({ apiVersion: "v2", name, version, urls: [expect.stringMatching(/^http:\/\/.*\.tgz$/)], digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Number.isNaN(Date.parse(entry.created as string))).toBe(false);
    const archive = await fetch((entry.urls as string[])[0]!, init);
    expect(archive.status).toBe(200);
    const bytes = Buffer.from(await archive.arrayBuffer());
    expect(sha256(bytes)).toBe(entry.digest);
    return bytes;
  }

  beforeAll(async () => {
    services = new ServicesStack(remotes(), { ADMIN_TOKEN: admin });
    stack = await services.start();
  });

  afterAll(async () => {
    await services?.destroy();
  });

  it("takes a raw .tgz and a multipart chart with its provenance, and serves them as helm walks a repository", async () => {
    const web = chart("web", "1.2.0", { appVersion: "1.10", keywords: ["http", "proxy"], maintainers: [{ name: "ops", email: "ops@example.test" }], deprecated: false });
    const raw = await post("charts", web, { "content-type": "application/gzip" });
    expect([raw.status, await raw.json()]).toEqual([201, { saved: true }]);

    const worker = chart("worker", "0.1.0-rc.1");
    const form = new FormData();
    form.set("chart", new Blob([worker]), "worker-0.1.0-rc.1.tgz");
    form.set("prov", new Blob(["-----BEGIN PGP SIGNED MESSAGE-----\n"]), "worker-0.1.0-rc.1.tgz.prov");
    const multipart = await post("charts", form);
    expect(multipart.status).toBe(201);

    expect(await helmPull("charts", "web", "1.2.0")).toEqual(web);
    expect(await helmPull("charts", "worker", "0.1.0-rc.1")).toEqual(worker);
    const index = parse(await (await fetch(`${base("charts")}/index.yaml`)).text());
    // Chart.yaml as written: appVersion 1.10 stays the string "1.10"; lists and booleans keep their types.
    expect(index.entries.web[0]).toMatchObject({ appVersion: "1.10", keywords: ["http", "proxy"], maintainers: [{ name: "ops", email: "ops@example.test" }], deprecated: false });
    const prov = await fetch(`${base("charts")}/charts/worker-0.1.0-rc.1.tgz.prov`);
    expect(await prov.text()).toBe("-----BEGIN PGP SIGNED MESSAGE-----\n");
  });

  it("lists charts through ChartMuseum's API, newest version first", async () => {
    for (const version of ["1.0.0", "1.10.0", "1.9.0"]) expect((await post("charts", chart("api", version))).status).toBe(201);
    const all = await json(await fetch(`${base("charts")}/api/charts`));
    expect(all.api.map((entry: { version: string }) => entry.version)).toEqual(["1.10.0", "1.9.0", "1.0.0"]);
    expect(Object.keys(all)).toEqual(expect.arrayContaining(["api", "web", "worker"]));
    const versions = await json(await fetch(`${base("charts")}/api/charts/api`));
    expect(versions).toEqual(all.api);
    const one = await json(await fetch(`${base("charts")}/api/charts/api/1.9.0`));
    expect(one).toMatchObject({ name: "api", version: "1.9.0", urls: [`${base("charts")}/charts/api-1.9.0.tgz`] });
    const missing = await fetch(`${base("charts")}/api/charts/nope`);
    expect([missing.status, await missing.json()]).toEqual([404, { error: expect.stringContaining("no chart 'nope'") }]);
  });

  it("answers HEAD of a chart and a version with 200 or 404 and no body, GET …/latest, and pages GET api/charts", async () => {
    for (const version of ["1.0.0", "1.1.0-rc.1"]) expect((await post("charts", chart("rel", version))).status).toBe(201);
    for (const [path, status] of [["rel", 200], ["rel/1.1.0-rc.1", 200], ["nope", 404], ["rel/9.9.9", 404], ["nope/1.0.0", 404]] as const) {
      const head = await fetch(`${base("charts")}/api/charts/${path}`, { method: "HEAD" });
      expect([path, head.status, await head.text()]).toEqual([path, status, ""]);
    }
    // The newest that is no prerelease, as ChartMuseum (and helm's index) read "latest".
    expect(await json(await fetch(`${base("charts")}/api/charts/rel/latest`))).toMatchObject({ name: "rel", version: "1.0.0" });
    const names = Object.keys(await json(await fetch(`${base("charts")}/api/charts`)));
    expect(Object.keys(await json(await fetch(`${base("charts")}/api/charts?offset=1&limit=2`)))).toEqual(names.slice(1, 3));
    const bad = await fetch(`${base("charts")}/api/charts?limit=0`);
    expect([bad.status, await bad.json()]).toEqual([400, { error: expect.stringContaining("limit") }]);
  });

  it("takes a provenance file for an uploaded version with POST api/prov and serves it at the chart's URL + .prov", async () => {
    const archive = chart("signed", "1.0.0");
    expect((await post("charts", archive)).status).toBe(201);
    /** A provenance file as `helm package --sign` writes it: Chart.yaml and the archive's digest, clear-signed. */
    const provenance = (name: string, version: string, digest = sha256(archive)) =>
      `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\napiVersion: v2\ndescription: the ${name} chart\nname: ${name}\nversion: ${version}\n\n...\nfiles:\n  ${name}-${version}.tgz: sha256:${digest}\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQBQJlAAAAAAkQAAAAAAAAAAAAAA==\n=AAAA\n-----END PGP SIGNATURE-----\n`;
    const postProv = (body: string, token: string | null = writer) => fetch(`${base("charts")}/api/prov`, { method: "POST", body, headers: token ? { authorization: `Bearer ${token}` } : {} });

    expect((await postProv(provenance("signed", "1.0.0"), null)).status).toBe(401);
    const saved = await postProv(provenance("signed", "1.0.0"));
    expect([saved.status, await saved.json()]).toEqual([201, { saved: true }]);
    const served = await fetch(`${base("charts")}/charts/signed-1.0.0.tgz.prov`);
    expect([served.status, await served.text()]).toEqual([200, provenance("signed", "1.0.0")]);
    const again = await postProv(provenance("signed", "1.0.0"));
    expect([again.status, (await json(again)).error]).toEqual([409, expect.stringContaining("file already exists")]);

    const refusals: [string, number, RegExp][] = [
      [provenance("signed", "9.9.9"), 404, /no chart signed version 9.9.9/],
      [provenance("unknown", "1.0.0"), 404, /no chart unknown version 1.0.0/],
      ["not a provenance file", 400, /not a provenance file/],
      ["-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nversion: 1.0.0\n", 400, /names no chart/],
      [provenance("signed", "1.0.0", "0".repeat(64)), 400, /signs signed-1.0.0.tgz as sha256:0+/],
    ];
    for (const [body, status, message] of refusals) {
      const response = await postProv(body);
      expect([response.status, (await json(response)).error]).toEqual([status, expect.stringMatching(message)]);
    }
    // Deleting the version deletes its provenance.
    expect((await fetch(`${base("charts")}/api/charts/signed/1.0.0`, { method: "DELETE", headers: { authorization: `Bearer ${writer}` } })).status).toBe(200);
    expect((await fetch(`${base("charts")}/charts/signed-1.0.0.tgz.prov`)).status).toBe(404);
  });

  it("refuses an existing version (409), a malformed chart (400) and writes without a write token (401, 403)", async () => {
    expect((await post("charts", chart("dup", "1.0.0"))).status).toBe(201);
    const again = await post("charts", chart("dup", "1.0.0", { description: "changed" }));
    expect([again.status, (await json(again)).error]).toEqual([409, expect.stringContaining("dup 1.0.0 exists already")]);

    const malformed: [string, Buffer][] = [
      ["not gzip", Buffer.from("just text")],
      ["gzip, not tar", gzipSync("just text")],
      ["no Chart.yaml", gzipSync(tar([{ name: "bad/values.yaml", body: "a: 1\n" }]))],
      ["bad version", chartArchive(stringify({ apiVersion: "v2", name: "bad", version: "one" }), "bad")],
      ["no apiVersion", chartArchive(stringify({ name: "bad", version: "1.0.0" }), "bad")],
      ["YAML that is not a mapping", chartArchive("- a\n- b\n", "bad")],
    ];
    for (const [why, body] of malformed) {
      const response = await post("charts", body);
      expect([why, response.status, typeof (await json(response)).error]).toEqual([why, 400, "string"]);
    }
    expect((await json(await fetch(`${base("charts")}/api/charts`))).bad).toBeUndefined();

    const anonymous = await fetch(`${base("charts")}/api/charts`, { method: "POST", body: chart("anon", "1.0.0") });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);
    const readOnly = await fetch(`${base("closed")}/api/charts`, { method: "POST", body: chart("ro", "1.0.0"), headers: { authorization: `Bearer ${reader}` } });
    expect(readOnly.status).toBe(403);
    // Refused from the headers: a body over max_upload_size is never read.
    const tooLarge = await post("closed", randomBytes(128 * 1024));
    expect(tooLarge.status).toBe(413);
  });

  it("serves a private repository to its read token only, as helm repo add --username/--password sends it", async () => {
    expect((await post("closed", chart("secret", "2.0.0"))).status).toBe(201);
    expect((await fetch(`${base("closed")}/index.yaml`)).status).toBe(401);
    const basic = { headers: { authorization: `Basic ${Buffer.from(`helm:${reader}`).toString("base64")}` } };
    await helmPull("closed", "secret", "2.0.0", basic);
  });

  it("deletes a version (and may upload it again), with upload events for both", async () => {
    expect((await post("charts", chart("gone", "1.0.0"))).status).toBe(201);
    const deleted = await fetch(`${base("charts")}/api/charts/gone/1.0.0`, { method: "DELETE", headers: { authorization: `Bearer ${writer}` } });
    expect([deleted.status, await deleted.json()]).toEqual([200, { deleted: true }]);
    expect((await fetch(`${base("charts")}/charts/gone-1.0.0.tgz`)).status).toBe(404);
    expect(parse(await (await fetch(`${base("charts")}/index.yaml`)).text()).entries.gone).toBeUndefined();
    expect((await fetch(`${base("charts")}/api/charts/gone/1.0.0`, { method: "DELETE", headers: { authorization: `Bearer ${writer}` } })).status).toBe(404);
    expect((await fetch(`${base("charts")}/api/charts/web/1.2.0`, { method: "DELETE" })).status).toBe(401);

    const fixed = chart("gone", "1.0.0", { description: "fixed" });
    expect((await post("charts", fixed)).status).toBe(201);
    expect(await helmPull("charts", "gone", "1.0.0")).toEqual(fixed);

    await eventually(async () => {
      const stream = await (await fetch(`${stack.url}/api/v2/events?backlog=200&timeout=1`, { headers: { authorization: `Bearer ${admin}` } })).text();
      const events = stream.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)));
      const mine = events.filter((event) => event.remote === names.charts && event.path === "charts/gone-1.0.0.tgz");
      expect(mine.map((event) => event.type)).toEqual(["upload.finished", "upload.deleted", "upload.finished"]);
    });
  });

  it("loses nothing when Redis is flushed and the proxy restarts: index.yaml and every chart come back from Postgres", async () => {
    const durable = chart("durable", "3.1.4");
    expect((await post("charts", durable)).status).toBe(201);
    await helmPull("charts", "durable", "3.1.4");
    stack = await services.restart({ flush: true });
    expect(await helmPull("charts", "durable", "3.1.4")).toEqual(durable);
    await helmPull("charts", "web", "1.2.0");
    expect((await post("charts", durable)).status).toBe(409);
  });
});
