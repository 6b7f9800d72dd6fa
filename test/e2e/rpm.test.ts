import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const PACKAGE = "proxy-hello";

/**
 * Debian's `dnf` against the proxy in front of a repository made with `rpmbuild` and
 * `createrepo_c`: download into an empty installroot, see a new version once repomd.xml's
 * mutable_ttl has passed, then download again into a new installroot with the upstream gone.
 */
describe("rpm through the proxy with dnf", () => {
  const origin = new Origin();
  const remote = uniqueName("rpm");
  /** The same repository as a private remote: dnf sends its repo's username/password as Basic auth. */
  const privateRemote = uniqueName("rpm-private");
  const readToken = `read-${sha256(privateRemote).slice(0, 16)}`;
  let work: string;
  let repo: string;
  let stack: TestStack;
  const built = new Map<string, Buffer>();

  /** Builds a noarch package into the repository's Packages/ and indexes the repository again. */
  const release = async (version: string) => {
    const spec = join(work, `${PACKAGE}-${version}.spec`);
    await writeFile(
      spec,
      [
        `Name: ${PACKAGE}`,
        `Version: ${version}`,
        "Release: 1",
        "Summary: A tiny package served through the proxy",
        "License: MIT",
        "BuildArch: noarch",
        "%description",
        "A tiny package served through the proxy.",
        "%install",
        `mkdir -p %{buildroot}/usr/share/${PACKAGE}`,
        `echo ${version} > %{buildroot}/usr/share/${PACKAGE}/version.txt`,
        "%files",
        `/usr/share/${PACKAGE}/version.txt`,
        "",
      ].join("\n"),
    );
    await run("rpmbuild", ["--define", `_topdir ${join(work, "rpmbuild")}`, "--define", `_rpmdir ${join(repo, "Packages")}`, "-bb", spec], { timeout: 60_000 });
    await run("createrepo_c", ["--update", repo], { timeout: 60_000 });
    const file = `${PACKAGE}-${version}-1.noarch.rpm`;
    built.set(file, await readFile(join(repo, "Packages", "noarch", file)));
    await serveTree(origin, repo);
  };

  /** dnf into a new, empty installroot with only the proxy as a repository; returns the downloaded files. */
  const dnfDownload = async (spec: string, from = remote, credentials: string[] = []) => {
    const root = await mkdtemp(join(work, "installroot-"));
    const destination = join(root, "downloads");
    const config = join(root, "dnf.conf");
    await writeFile(config, "[main]\ngpgcheck=0\ninstall_weak_deps=0\n");
    const args = [
      ["-c", config],
      ["--installroot", root],
      ["--releasever", "1"],
      [`--setopt=reposdir=${join(root, "no-repos")}`],
      [`--repofrompath=proxied,${stack.url}/api/v1/remote/${from}/`],
      credentials,
      ["--nogpgcheck", "--downloadonly", "--destdir", destination, "-y", "install", spec],
    ].flat();
    try {
      await run("dnf", args, { timeout: 90_000 });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`dnf ${args.join(" ")} failed: ${stderr ?? ""}${stdout ?? ""}`);
    }
    const files = new Map<string, Buffer>();
    for (const name of await readdir(destination)) files.set(name, await readFile(join(destination, name)));
    await rm(root, { recursive: true, force: true });
    return files;
  };

  const expectDownloaded = (files: Map<string, Buffer>, file: string) => {
    expect([...files.keys()]).toEqual([file]);
    expect(sha256(files.get(file)!)).toBe(sha256(built.get(file)!));
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "rpm-e2e-"));
    repo = join(work, "repo");
    await mkdir(join(repo, "Packages"), { recursive: true });
    await origin.start();
    await release("1.0");
    const rpm = { base_url: origin.url, package: "rpm", allow_private_network: true, mutable_ttl: 1 };
    stack = await startTestStack({ remotes: { [remote]: rpm, [privateRemote]: { ...rpm, private: true, read_tokens: [readToken] } } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("downloads a package with dnf through the proxy", async () => {
    expectDownloaded(await dnfDownload(PACKAGE), `${PACKAGE}-1.0-1.noarch.rpm`);
    expect(origin.count("/repodata/repomd.xml")).toBe(1);
    expect(origin.count(`/Packages/noarch/${PACKAGE}-1.0-1.noarch.rpm`)).toBe(1);
    expect(origin.requests.filter((r) => /^\/repodata\/[0-9a-f]{64}-primary\.xml\.gz$/.test(r.path))).toHaveLength(1);
  });

  it("downloads from a private remote with the read token as the repository's password, and not without it", async () => {
    const login = (password: string) => ["--setopt=proxied.username=ci", `--setopt=proxied.password=${password}`];
    expectDownloaded(await dnfDownload(PACKAGE, privateRemote, login(readToken)), `${PACKAGE}-1.0-1.noarch.rpm`);
    await expect(dnfDownload(PACKAGE, privateRemote)).rejects.toThrow(/401/);
    await expect(dnfDownload(PACKAGE, privateRemote, login("wrong"))).rejects.toThrow(/401/);
  });

  it("sees a new version once repomd.xml's mutable_ttl has passed", async () => {
    await release("1.1");
    await sleep(1_200);
    expectDownloaded(await dnfDownload(PACKAGE), `${PACKAGE}-1.1-1.noarch.rpm`);
  });

  it("downloads again into a new installroot after the upstream is gone", async () => {
    await origin.stop();
    const before = origin.requests.length;
    await sleep(1_200); // repomd.xml is past its mutable_ttl: the proxy serves it stale
    expectDownloaded(await dnfDownload(PACKAGE), `${PACKAGE}-1.1-1.noarch.rpm`);
    expectDownloaded(await dnfDownload(`${PACKAGE}-1.0`), `${PACKAGE}-1.0-1.noarch.rpm`);
    expect(origin.requests.length).toBe(before);
    const repomd = await fetch(`${stack.url}/api/v1/remote/${remote}/repodata/repomd.xml`);
    expect(repomd.headers.get("warning")).toContain("Response is Stale");
    expect(sha256(Buffer.from(await repomd.arrayBuffer()))).toBe(sha256(await readFile(join(repo, "repodata", "repomd.xml"))));
  });
});

/** Serves every file under `dir` at its relative path, with a content etag (the origin's own is length-based). */
async function serveTree(origin: Origin, dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const body = await readFile(path);
    origin.serve(`/${relative(dir, path)}`, { body, headers: { etag: `"${sha256(body)}"` } });
  }
}
