import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ESCAPED, moduleVersion, MODULE, ON_THE_WIRE, runGo } from "../support/gomod.ts";
import { sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * `go` (Debian's) against the proxy in front of a static GOPROXY tree: download and list a
 * module whose path has upper-case letters, fall through remotes that answer 404/410, and do
 * it all again from a clean module cache after the upstream is gone.
 */
describe("goproxy through the proxy with go", () => {
  const tree = new Origin();
  const empty = new Origin();
  const gone = new Origin();
  const names = { go: uniqueName("go"), empty: uniqueName("go-empty"), gone: uniqueName("go-gone") };
  const versions = { "v1.0.0": moduleVersion("v1.0.0"), "v1.1.0": moduleVersion("v1.1.0"), "v1.2.0": moduleVersion("v1.2.0") };
  let stack: TestStack;
  let work: string;

  const remoteUrl = (name: string) => `${stack.url}/api/v1/remote/${name}`;
  const publish = (version: keyof typeof versions) => {
    const files = versions[version];
    tree
      .serve(`/${ON_THE_WIRE}/@v/${version}.info`, { body: files.info, contentType: "application/json" })
      .serve(`/${ON_THE_WIRE}/@v/${version}.mod`, { body: files.mod, contentType: "text/plain" })
      .serve(`/${ON_THE_WIRE}/@v/${version}.zip`, { body: files.zip, contentType: "application/zip" });
  };
  const publishList = (list: string[]) => tree.serve(`/${ON_THE_WIRE}/@v/list`, { body: list.map((v) => `${v}\n`).join(""), contentType: "text/plain" });

  const go = (goproxy: string, args: string[]) => runGo(work, goproxy, args);
  const download = async (goproxy: string, version: string) => {
    const { stdout } = await go(goproxy, ["mod", "download", "-json", `${MODULE}@${version}`]);
    return JSON.parse(stdout) as { Path: string; Version: string; Sum: string; GoModSum: string; Error?: string };
  };
  const listVersions = async (goproxy: string) => (await go(goproxy, ["list", "-m", "-versions", MODULE])).stdout.trim();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "goproxy-e2e-"));
    publish("v1.0.0");
    publish("v1.1.0");
    publishList(["v1.0.0", "v1.1.0"]);
    await tree.start();
    await empty.start();
    gone.failWith = 410;
    await gone.start();
    const remote = (origin: Origin) => ({ base_url: origin.url, package: "goproxy", allow_private_network: true, mutable_ttl: 1 });
    stack = await startTestStack({ remotes: { [names.go]: remote(tree), [names.empty]: remote(empty), [names.gone]: remote(gone) } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await Promise.all([tree.stop(), empty.stop(), gone.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("downloads a module with upper-case letters in its path and lists its versions", async () => {
    const downloaded = await download(remoteUrl(names.go), "v1.1.0");
    expect(downloaded).toMatchObject({ Path: MODULE, Version: "v1.1.0", Sum: versions["v1.1.0"].sum, GoModSum: versions["v1.1.0"].goModSum });
    expect(downloaded.Error).toBeUndefined();
    expect(tree.count(`/${ON_THE_WIRE}/@v/v1.1.0.zip`)).toBe(1);

    expect(await listVersions(remoteUrl(names.go))).toBe(`${MODULE} v1.0.0 v1.1.0`);
    expect(tree.count(`/${ON_THE_WIRE}/@v/list`)).toBe(1);
  });

  it("sees a new version once the list's mutable_ttl has passed", async () => {
    publish("v1.2.0");
    publishList(["v1.0.0", "v1.1.0", "v1.2.0"]);
    await sleep(1_200);
    expect(await listVersions(remoteUrl(names.go))).toBe(`${MODULE} v1.0.0 v1.1.0 v1.2.0`);
    expect((await download(remoteUrl(names.go), "v1.2.0")).Sum).toBe(versions["v1.2.0"].sum);
  });

  it("falls through remotes whose upstream answers 404 or 410 to the next GOPROXY entry", async () => {
    const chain = [remoteUrl(names.empty), remoteUrl(names.gone), remoteUrl(names.go)].join(",");
    expect((await download(chain, "v1.0.0")).Sum).toBe(versions["v1.0.0"].sum);
    expect(empty.requests.some((r) => r.path.startsWith(`/${ON_THE_WIRE}/@v/`))).toBe(true);
    expect(gone.requests.some((r) => r.path.startsWith(`/${ON_THE_WIRE}/@v/`))).toBe(true);

    const missing = await fetch(`${remoteUrl(names.empty)}/${ESCAPED}/@v/v9.9.9.info`);
    expect(missing.status).toBe(404);
    const removed = await fetch(`${remoteUrl(names.gone)}/${ESCAPED}/@v/v9.9.9.info`);
    expect(removed.status).toBe(410);
  });

  it("downloads and lists again from a clean module cache after the upstream is gone", async () => {
    await tree.stop();
    const before = tree.requests.length;
    await sleep(1_200); // the version list is past its mutable_ttl: the proxy serves it stale

    for (const version of ["v1.0.0", "v1.1.0", "v1.2.0"] as const) {
      const downloaded = await download(remoteUrl(names.go), version);
      expect(downloaded).toMatchObject({ Version: version, Sum: versions[version].sum, GoModSum: versions[version].goModSum });
    }
    expect(await listVersions(remoteUrl(names.go))).toBe(`${MODULE} v1.0.0 v1.1.0 v1.2.0`);
    expect(tree.requests.length).toBe(before);
    const list = await fetch(`${remoteUrl(names.go)}/${ESCAPED}/@v/list`);
    expect(list.headers.get("warning")).toContain("Response is Stale");
    expect(await list.text()).toBe("v1.0.0\nv1.1.0\nv1.2.0\n");

    // A version the proxy never cached cannot come from anywhere: `go` stops with the proxy's error, it does not fall through.
    await expect(download(remoteUrl(names.go), "v0.9.0")).rejects.toThrow(/v0\.9\.0\.info: 502 Bad Gateway/);
  });
});
