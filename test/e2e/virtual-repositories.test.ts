import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { tar } from "../support/archives.ts";
import { moduleVersion, MODULE, ON_THE_WIRE, runGo } from "../support/gomod.ts";
import { eventually, sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

interface Packument {
  versions: Record<string, { dist: { tarball: string } }>;
}

/**
 * Virtuals over static origins for the other package types, and the behaviours that need an
 * origin the test can count and break: `go list -m -versions` over two GOPROXY trees, helm's
 * walk of a merged index.yaml, generic first-match, concurrent cold requests, a member down.
 */
describe("virtual repositories over static origins", () => {
  const origins = { goA: new Origin(), goB: new Origin(), helmA: new Origin(), helmB: new Origin(), filesA: new Origin(), filesB: new Origin(), npmA: new Origin(), npmB: new Origin() };
  const names = Object.fromEntries(Object.keys(origins).map((key) => [key, uniqueName(key.toLowerCase())])) as Record<keyof typeof origins, string>;
  const virtuals = { go: uniqueName("go-all"), helm: uniqueName("helm-all"), files: uniqueName("files-all"), npm: uniqueName("npm-all"), charts: uniqueName("charts-all") };
  const helmLocal = uniqueName("team-charts");
  const writer = randomBytes(16).toString("hex");
  const charts = { "alpha-1.0.0.tgz": randomBytes(10_000), "alpha-2.0.0.tgz": randomBytes(10_000), "beta-1.0.0.tgz": randomBytes(10_000) };
  const goVersions = { "v1.0.0": moduleVersion("v1.0.0"), "v1.1.0": moduleVersion("v1.1.0"), "v1.2.0": moduleVersion("v1.2.0") };
  let stack: TestStack;
  let work: string;

  const virtualUrl = (name: string) => `${stack.url}/api/v1/virtual/${name}`;

  const goTree = (origin: Origin, versions: (keyof typeof goVersions)[]) => {
    for (const version of versions) {
      const files = goVersions[version];
      origin
        .serve(`/${ON_THE_WIRE}/@v/${version}.info`, { body: files.info, contentType: "application/json" })
        .serve(`/${ON_THE_WIRE}/@v/${version}.mod`, { body: files.mod, contentType: "text/plain" })
        .serve(`/${ON_THE_WIRE}/@v/${version}.zip`, { body: files.zip, contentType: "application/zip" });
    }
    origin.serve(`/${ON_THE_WIRE}/@v/list`, { body: versions.map((version) => `${version}\n`).join(""), contentType: "text/plain" });
  };

  const helmIndex = (origin: Origin, entries: Record<string, { version: string; file: keyof typeof charts; relative: boolean }[]>) => {
    const index = {
      apiVersion: "v1",
      entries: Object.fromEntries(
        Object.entries(entries).map(([chart, versions]) => [
          chart,
          versions.map(({ version, file, relative }) => ({ name: chart, version, apiVersion: "v2", digest: sha256(charts[file]), urls: [relative ? file : `${origin.url}/${file}`] })),
        ]),
      ),
      generated: "2026-11-01T00:00:00Z",
    };
    origin.serve("/index.yaml", { body: stringify(index), contentType: "application/x-yaml" });
    for (const versions of Object.values(entries)) for (const { file } of versions) origin.serve(`/${file}`, { body: charts[file], contentType: "application/gzip" });
  };

  const packument = (origin: Origin, name: string, versions: string[], delayMs = 0) => {
    const document = {
      _id: name,
      name,
      "dist-tags": { latest: versions.at(-1) },
      versions: Object.fromEntries(versions.map((version) => [version, { name, version, dist: { tarball: `${origin.url}/${name}/-/${name}-${version}.tgz` } }])),
    };
    origin.serve(`/${name}`, { body: JSON.stringify(document), contentType: "application/json", delayMs });
    for (const version of versions) origin.serve(`/${name}/-/${name}-${version}.tgz`, `${name} ${version} from ${origin.url}`);
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-e2e-"));
    // Started first: the documents link their own URLs.
    await Promise.all(Object.values(origins).map((origin) => origin.start()));
    goTree(origins.goA, ["v1.0.0", "v1.1.0"]);
    goTree(origins.goB, ["v1.1.0", "v1.2.0"]);
    helmIndex(origins.helmA, { alpha: [{ version: "1.0.0", file: "alpha-1.0.0.tgz", relative: true }] });
    helmIndex(origins.helmB, {
      alpha: [
        { version: "2.0.0", file: "alpha-2.0.0.tgz", relative: false },
        { version: "1.0.0", file: "alpha-1.0.0.tgz", relative: false },
      ],
      beta: [{ version: "1.0.0", file: "beta-1.0.0.tgz", relative: false }],
    });
    origins.filesA.serve("/both.txt", "both from a");
    origins.filesB.serve("/both.txt", "both from b").serve("/only-b.txt", "only in b");
    packument(origins.npmA, "shared", ["1.0.0"]);
    packument(origins.npmB, "shared", ["2.0.0"]);
    packument(origins.npmA, "never-complete", ["1.0.0"]);
    packument(origins.npmB, "never-complete", ["2.0.0"]);
    // Slow enough that concurrent requests all arrive while the first merge is running.
    packument(origins.npmA, "slow", ["1.0.0"], 500);
    packument(origins.npmB, "slow", ["2.0.0"], 500);
    const remote = (key: keyof typeof origins, type: string) => ({ base_url: origins[key].url, package: type, allow_private_network: true, mutable_ttl: 1, circuit_breaker: { failures: 100 } });
    stack = await startTestStack({
      remotes: {
        [names.goA]: remote("goA", "goproxy"),
        [names.goB]: remote("goB", "goproxy"),
        [names.helmA]: remote("helmA", "helm"),
        [names.helmB]: remote("helmB", "helm"),
        [names.filesA]: remote("filesA", "generic"),
        [names.filesB]: remote("filesB", "generic"),
        [names.npmA]: remote("npmA", "npm"),
        [names.npmB]: remote("npmB", "npm"),
        [helmLocal]: { type: "local", package: "helm", write_tokens: [`ci:${writer}`] },
      },
      virtuals: {
        [virtuals.go]: { package: "goproxy", members: [names.goA, names.goB] },
        [virtuals.helm]: { package: "helm", members: [names.helmA, names.helmB] },
        [virtuals.files]: { members: [names.filesA, names.filesB] },
        [virtuals.npm]: { package: "npm", members: [names.npmA, names.npmB], mutable_ttl: 1 },
        // An hour: a chart pushed to the local shows at once, not when the merged index.yaml expires.
        [virtuals.charts]: { package: "helm", members: [helmLocal, names.helmA], mutable_ttl: 3600 },
      },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await Promise.all(Object.values(origins).map((origin) => origin.stop()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("go list -m -versions unions both GOPROXY trees, and go mod download takes a version from the member that listed it", async () => {
    const goproxy = virtualUrl(virtuals.go);
    expect((await runGo(work, goproxy, ["list", "-m", "-versions", MODULE])).stdout.trim()).toBe(`${MODULE} v1.0.0 v1.1.0 v1.2.0`);
    const { stdout } = await runGo(work, goproxy, ["mod", "download", "-json", `${MODULE}@v1.2.0`]);
    expect(JSON.parse(stdout)).toMatchObject({ Path: MODULE, Version: "v1.2.0", Sum: goVersions["v1.2.0"].sum });
    expect(origins.goB.count(`/${ON_THE_WIRE}/@v/v1.2.0.zip`)).toBe(1);
    // v1.1.0 is in both: the first member listed it first.
    await runGo(work, goproxy, ["mod", "download", "-json", `${MODULE}@v1.1.0`]);
    expect(origins.goA.count(`/${ON_THE_WIRE}/@v/v1.1.0.zip`)).toBe(1);
    expect(origins.goB.count(`/${ON_THE_WIRE}/@v/v1.1.0.zip`)).toBe(0);
  });

  it("walks a merged index.yaml as helm does: each chart from the member whose entry won, every digest intact", async () => {
    const repository = virtualUrl(virtuals.helm);
    const index = parse(await (await fetch(`${repository}/index.yaml`)).text()) as { entries: Record<string, { version: string; digest: string; urls: string[] }[]> };
    expect(Object.fromEntries(Object.entries(index.entries).map(([chart, versions]) => [chart, versions.map((entry) => entry.version).sort()]))).toEqual({ alpha: ["1.0.0", "2.0.0"], beta: ["1.0.0"] });
    const members: string[] = [];
    for (const versions of Object.values(index.entries)) {
      for (const entry of versions) {
        const url = new URL(entry.urls[0]!, `${repository}/`);
        expect(url.href.startsWith(`${repository}/`)).toBe(true);
        const chart = await fetch(url);
        expect(chart.status, url.href).toBe(200);
        expect(sha256(Buffer.from(await chart.arrayBuffer()))).toBe(entry.digest);
        members.push(`${entry.version}:${chart.headers.get("x-artifact-member")}`);
      }
    }
    expect(members.sort()).toEqual([`1.0.0:${names.helmA}`, `1.0.0:${names.helmB}`, `2.0.0:${names.helmB}`].sort());
  });

  it("merges index.yaml again at once after a chart is pushed straight to its helm local member", async () => {
    const index = async () => parse(await (await fetch(`${virtualUrl(virtuals.charts)}/index.yaml`)).text()) as { entries: Record<string, { version: string; digest: string; urls: string[] }[]> };
    expect(Object.keys((await index()).entries)).toEqual(["alpha"]);
    const archive = gzipSync(tar([{ name: "gamma/Chart.yaml", body: stringify({ apiVersion: "v2", name: "gamma", version: "0.1.0", description: "the gamma chart", type: "application" }) }]));
    const pushed = await fetch(`${stack.url}/api/v1/local/${helmLocal}/api/charts`, { method: "POST", body: archive, headers: { authorization: `Bearer ${writer}` } });
    expect(pushed.status).toBe(201);
    const merged = await index();
    expect(Object.keys(merged.entries).sort()).toEqual(["alpha", "gamma"]);
    const [entry] = merged.entries.gamma!;
    const chart = await fetch(new URL(entry!.urls[0]!, `${virtualUrl(virtuals.charts)}/`));
    expect([chart.status, chart.headers.get("x-artifact-member")]).toEqual([200, helmLocal]);
    expect(sha256(Buffer.from(await chart.arrayBuffer()))).toBe(entry!.digest);
  });

  it("serves a generic path from the first member that has it", async () => {
    const both = await fetch(`${virtualUrl(virtuals.files)}/both.txt`);
    expect([await both.text(), both.headers.get("x-artifact-member")]).toEqual(["both from a", names.filesA]);
    const onlyB = await fetch(`${virtualUrl(virtuals.files)}/only-b.txt`);
    expect([await onlyB.text(), onlyB.headers.get("x-artifact-member")]).toEqual(["only in b", names.filesB]);
    expect((await fetch(`${virtualUrl(virtuals.files)}/nowhere.txt`)).status).toBe(404);
  });

  it("answers concurrent cold requests for a merged document with one fetch per member", async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${virtualUrl(virtuals.npm)}/slow`).then(async (response) => [response.status, Object.keys(((await response.json()) as Packument).versions).sort()] as const)));
    for (const answer of answers) expect(answer).toEqual([200, ["1.0.0", "2.0.0"]]);
    expect(origins.npmA.count("/slow")).toBe(1);
    expect(origins.npmB.count("/slow")).toBe(1);
  });

  it("leaves a failing member out and says so (X-Artifact-Partial, briefly cached), then serves the last complete merge stale when every member fails", async () => {
    const url = `${virtualUrl(virtuals.npm)}/shared`;
    const versionsOf = async (response: Response) => Object.keys(((await response.json()) as Packument).versions).sort();
    const complete = await fetch(url);
    expect(complete.headers.get("x-artifact-partial")).toBeNull();
    expect(complete.headers.get("x-artifact-members")).toBe(`${names.npmA}, ${names.npmB}`);
    expect(await versionsOf(complete)).toEqual(["1.0.0", "2.0.0"]);

    origins.npmB.failWith = 503;
    await sleep(1_100); // past both TTLs
    const partial = await fetch(url);
    expect(partial.status).toBe(200);
    expect(partial.headers.get("x-artifact-partial")).toBe(names.npmB);
    expect(await versionsOf(partial)).toEqual(["1.0.0"]);
    // A name merged only while a member was failing: its only copy is partial.
    const onlyPartial = await fetch(`${virtualUrl(virtuals.npm)}/never-complete`);
    expect(onlyPartial.headers.get("x-artifact-partial")).toBe(names.npmB);
    expect(await versionsOf(onlyPartial)).toEqual(["1.0.0"]);

    origins.npmA.failWith = 503;
    await sleep(1_100);
    const stale = await fetch(url);
    expect(stale.status).toBe(200);
    expect(stale.headers.get("warning")).toMatch(/^110/);
    // The partial copy came last, but the stale answer is the last complete merge: it lacks no member.
    expect(stale.headers.get("x-artifact-partial")).toBeNull();
    expect(await versionsOf(stale)).toEqual(["1.0.0", "2.0.0"]);
    // Without a complete merge, the partial copy is the stale answer, and it still says what it lacks.
    const stalePartial = await fetch(`${virtualUrl(virtuals.npm)}/never-complete`);
    expect(stalePartial.status).toBe(200);
    expect(stalePartial.headers.get("warning")).toMatch(/^110/);
    expect(stalePartial.headers.get("x-artifact-partial")).toBe(names.npmB);
    expect(await versionsOf(stalePartial)).toEqual(["1.0.0"]);

    // Nothing merged before and every member failing: 502 naming them, never an empty document.
    const never = await fetch(`${virtualUrl(virtuals.npm)}/never-merged`);
    expect(never.status).toBe(502);
    expect(((await never.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "MEMBERS_FAILED", message: expect.stringContaining(names.npmA) });

    origins.npmA.failWith = null;
    origins.npmB.failWith = null;
    await eventually(async () => {
      const back = await fetch(url);
      expect(back.headers.get("x-artifact-partial")).toBeNull();
      expect(await versionsOf(back)).toEqual(["1.0.0", "2.0.0"]);
    });
  });
});
