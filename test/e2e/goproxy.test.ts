import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeModulePath } from "../../providers/goproxy.ts";
import { zip, type ArchiveFile } from "../support/archives.ts";
import { sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);

/** Upper-case letters, so every URL `go` sends spells them `!` + lower case. */
const MODULE = "example.com/Acme/Greeter";
const ESCAPED = encodeModulePath(MODULE);
/**
 * `go` percent-encodes that `!` in its requests (proxy.golang.org gets `%21` too); static
 * servers decode it, the test origin matches paths verbatim, so it lists them as sent.
 */
const ON_THE_WIRE = ESCAPED.replaceAll("!", "%21");

/** One module version as a static GOPROXY tree serves it. */
function moduleVersion(version: string) {
  const goMod = `module ${MODULE}\n\ngo 1.19\n`;
  const files: ArchiveFile[] = [
    { name: `${MODULE}@${version}/go.mod`, body: goMod },
    { name: `${MODULE}@${version}/greeter.go`, body: `package greeter\n\nconst Version = "${version}"\n` },
  ];
  return {
    info: JSON.stringify({ Version: version, Time: "2026-01-02T03:04:05Z" }),
    mod: goMod,
    zip: zip(files),
    // What `go` records in go.sum: dirhash "h1" over the zip's files and over the lone go.mod.
    sum: h1(files),
    goModSum: h1([{ name: "go.mod", body: goMod }]),
  };
}

function h1(files: ArchiveFile[]): string {
  const sha256 = (data: Buffer | string) => createHash("sha256").update(data);
  const summary = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((file) => `${sha256(file.body).digest("hex")}  ${file.name}\n`)
    .join("");
  return `h1:${sha256(summary).digest("base64")}`;
}

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

  /** `go` with a fresh GOPATH, module cache and build cache: nothing comes from an earlier run. */
  const go = async (goproxy: string, args: string[]) => {
    const home = await mkdtemp(join(work, "client-"));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      GOPATH: join(home, "go"),
      GOMODCACHE: join(home, "go", "pkg", "mod"),
      GOCACHE: join(home, "cache"),
      GOENV: "off",
      GO111MODULE: "on",
      GOPROXY: goproxy,
      GOSUMDB: "off",
      GOFLAGS: "-mod=mod",
      GOTOOLCHAIN: "local",
    };
    try {
      return await run("go", args, { cwd: home, env, timeout: 60_000 });
    } catch (error) {
      // `-json` reports the failure on stdout.
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`go ${args.join(" ")} failed: ${stderr ?? ""}${stdout ?? ""}`);
    } finally {
      // The module cache is read-only by design; -modcacherw is not set, so make it removable.
      await run("chmod", ["-R", "u+w", home]);
      await rm(home, { recursive: true, force: true });
    }
  };
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
