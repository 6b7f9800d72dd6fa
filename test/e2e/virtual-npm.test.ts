import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";
import { npm as cleanNpm, publishPackage, startVerdaccio, writePublisherNpmrc, type PackageSource, type Verdaccio } from "../support/verdaccio.ts";

const run = promisify(execFile);

interface Lockfile {
  packages: Record<string, { version?: string; resolved?: string; integrity?: string }>;
}

interface Packument {
  "dist-tags": Record<string, string>;
  versions: Record<string, { dist: { tarball: string } }>;
}

/**
 * npm through a virtual over two real registries (verdaccio, no uplinks): a package only the
 * first has (with a scoped dependency), one only the second has, and one both publish — with a
 * version only the second has. One registry URL installs all of them.
 */
describe("npm through a virtual over two verdaccio remotes", () => {
  const first = uniqueName("npm-a");
  const second = uniqueName("npm-b");
  const virtual = uniqueName("npm-all");
  let work: string;
  const registries: Verdaccio[] = [];
  let stack: TestStack;

  const registry = () => `${stack.url}/api/v1/virtual/${virtual}/`;
  const npm = (cwd: string, args: string[], userconfig: string) => cleanNpm(cwd, args, { userconfig, globalconfig: join(work, "empty-npmrc") });

  const publishAll = async (upstream: string, label: string, packages: PackageSource[]) => {
    const rc = join(work, `publisher-${label}`);
    await writePublisherNpmrc(upstream, rc);
    for (const pkg of packages) await publishPackage(upstream, join(work, label, pkg.name.replace("/", "_"), pkg.version), pkg, { userconfig: rc, globalconfig: join(work, "empty-npmrc") });
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-npm-"));
    await writeFile(join(work, "empty-npmrc"), "");
    const [a, b] = await Promise.all([startVerdaccio(join(work, "verdaccio-a")), startVerdaccio(join(work, "verdaccio-b"))]);
    registries.push(a!, b!);
    const main = (text: string) => `module.exports = ${JSON.stringify(text)};\n`;
    await publishAll(a!.url, "a", [
      { name: "@demo/util", version: "1.0.0", dependencies: {}, main: main("util from a") },
      { name: "demo-greeter", version: "1.0.0", dependencies: { "@demo/util": "^1.0.0" }, main: "module.exports = 'greeter with ' + require('@demo/util');\n" },
      { name: "demo-shared", version: "1.0.0", dependencies: {}, main: main("shared 1.0.0 from a") },
    ]);
    await publishAll(b!.url, "b", [
      { name: "demo-extra", version: "1.0.0", dependencies: {}, main: main("extra from b") },
      { name: "demo-shared", version: "1.0.0", dependencies: {}, main: main("shared 1.0.0 from b") },
      { name: "demo-shared", version: "2.0.0", dependencies: {}, main: main("shared 2.0.0 from b") },
    ]);
    const member = (url: string) => ({ base_url: url, package: "npm", allow_private_network: true });
    stack = await startTestStack({
      remotes: { [first]: member(a!.url), [second]: member(b!.url) },
      virtuals: { [virtual]: { package: "npm", members: [first, second] } },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    for (const verdaccio of registries) await verdaccio.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const install = async (round: string, dependencies: Record<string, string>): Promise<{ project: string; lock: Lockfile }> => {
    const project = join(work, `project-${round}`);
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: `app-${round}`, version: "1.0.0", private: true, dependencies }));
    const rc = join(project, ".npmrc-test");
    await writeFile(rc, "");
    await npm(project, ["install", "--registry", registry(), "--cache", join(work, `cache-${round}`), "--prefer-online"], rc);
    return { project, lock: JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as Lockfile };
  };
  const required = async (project: string, name: string) => (await run(process.execPath, ["-e", `console.log(require(${JSON.stringify(name)}))`], { cwd: project })).stdout.trim();

  it("installs packages from both members through one registry URL, every tarball through the virtual", async () => {
    const { project, lock } = await install("both", { "demo-greeter": "1.0.0", "demo-extra": "1.0.0", "demo-shared": "2.0.0" });
    expect(await required(project, "demo-greeter")).toBe("greeter with util from a");
    expect(await required(project, "demo-extra")).toBe("extra from b");
    expect(await required(project, "demo-shared")).toBe("shared 2.0.0 from b");
    for (const [path, entry] of Object.entries(lock.packages)) if (path !== "") expect(entry.resolved).toMatch(new RegExp(`^${registry()}`));
  });

  it("merges a packument both members have: versions unioned, the first member winning a version and a tag", async () => {
    const response = await fetch(`${registry()}demo-shared`);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-artifact-partial")).toBeNull();
    const packument = (await response.json()) as Packument;
    expect(Object.keys(packument.versions).sort()).toEqual(["1.0.0", "2.0.0"]);
    // verdaccio sets latest on every publish: the first member's tag wins.
    expect(packument["dist-tags"].latest).toBe("1.0.0");
    const tarball = await fetch(packument.versions["1.0.0"]!.dist.tarball);
    expect(tarball.status).toBe(200);
    expect(tarball.headers.get("x-artifact-member")).toBe(first);
    const newer = await fetch(packument.versions["2.0.0"]!.dist.tarball);
    expect(newer.headers.get("x-artifact-member")).toBe(second);
    await newer.arrayBuffer();
    await tarball.arrayBuffer();
  });

  it("caches each member's packument as that member (a request through the virtual warms it)", async () => {
    const through = await fetch(`${registry()}@demo%2futil`, { headers: { accept: "application/json" } });
    expect(through.status).toBe(200);
    await through.arrayBuffer();
    const direct = await fetch(`${stack.url}/api/v1/remote/${first}/@demo%2futil`, { headers: { accept: "application/json" } });
    expect(direct.status).toBe(200);
    expect(direct.headers.get("x-artifact-source")).toBe("cache");
    await direct.arrayBuffer();
  });

  it("answers the abbreviated packument in its own form, and 404 for a name no member has", async () => {
    const abbreviated = await fetch(`${registry()}demo-shared`, { headers: { accept: "application/vnd.npm.install-v1+json" } });
    expect(abbreviated.headers.get("content-type")).toMatch(/application\/vnd\.npm\.install-v1\+json/);
    expect(Object.keys(((await abbreviated.json()) as Packument).versions).sort()).toEqual(["1.0.0", "2.0.0"]);
    expect((await fetch(`${registry()}no-such-package`)).status).toBe(404);
  });

  it("refuses writes with 405 naming default_local when the virtual has none", async () => {
    const response = await fetch(`${registry()}demo-new`, { method: "PUT", body: "{}", headers: { "content-type": "application/json" } });
    expect(response.status).toBe(405);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/default_local/);
  });
});
