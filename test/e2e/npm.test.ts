import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";
import { npm as cleanNpm, publishPackage, startVerdaccio, writePublisherNpmrc, type PackageSource, type Verdaccio } from "../support/verdaccio.ts";

const run = promisify(execFile);

interface Lockfile {
  packages: Record<string, { version?: string; resolved?: string; integrity?: string }>;
}

/**
 * npm against the proxy, with a real verdaccio (no uplinks) as the upstream: a plain package
 * that depends on a scoped one, installed from a clean cache, then again with verdaccio gone.
 */
describe("npm through the proxy with npm and verdaccio", () => {
  const remote = uniqueName("npm");
  /** The same upstream as a private remote: npm sends `_auth` (user:read token) as Basic auth. */
  const privateRemote = uniqueName("npm-private");
  const readToken = `read-${createHash("sha256").update(privateRemote).digest("hex").slice(0, 16)}`;
  let work: string;
  let verdaccio: Verdaccio | null = null;
  let upstream: string;
  let stack: TestStack;
  const published = new Map<string, Buffer>();

  const registry = (name = remote) => `${stack.url}/api/v1/remote/${name}/`;

  const npm = (cwd: string, args: string[], userconfig: string) => cleanNpm(cwd, args, { userconfig, globalconfig: join(work, "empty-npmrc") });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "npm-e2e-"));
    await writeFile(join(work, "empty-npmrc"), "");
    verdaccio = await startVerdaccio(work);
    upstream = verdaccio.url;
    const publisherRc = join(work, "publisher-npmrc");
    await writePublisherNpmrc(upstream, publisherRc);
    const packages: (PackageSource & { dir: string })[] = [
      { name: "@demo/util", dir: "util", version: "1.0.0", dependencies: {}, main: "module.exports = (name) => `hello, ${name}`;\n" },
      { name: "demo-greeter", dir: "greeter", version: "1.0.0", dependencies: { "@demo/util": "^1.0.0" }, main: "module.exports = require('@demo/util')('npm');\n" },
    ];
    for (const pkg of packages) {
      const dir = join(work, "packages", pkg.dir);
      await publishPackage(upstream, dir, pkg, { userconfig: publisherRc, globalconfig: join(work, "empty-npmrc") });
      const { stdout } = await npm(dir, ["pack", "--json", "--pack-destination", work], publisherRc);
      const [packed] = JSON.parse(stdout) as { filename: string }[];
      published.set(pkg.name, await readFile(join(work, packed!.filename)));
    }

    stack = await startTestStack({
      remotes: {
        [remote]: { base_url: upstream, package: "npm", allow_private_network: true, mutable_ttl: 1 },
        [privateRemote]: { base_url: upstream, package: "npm", allow_private_network: true, private: true, read_tokens: [readToken] },
      },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await verdaccio?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A new project and a new, empty npm cache: everything comes from the registry. */
  const install = async (round: string, from = registry(), npmrc = ""): Promise<Lockfile> => {
    const project = join(work, `project-${round}`);
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: `app-${round}`, version: "1.0.0", private: true, dependencies: { "demo-greeter": "1.0.0" } }));
    const rc = join(project, ".npmrc-test");
    await writeFile(rc, npmrc);
    await npm(project, ["install", "--registry", from, "--cache", join(work, `cache-${round}`), "--prefer-online"], rc);
    const { stdout } = await run(process.execPath, ["-e", "console.log(require('demo-greeter'))"], { cwd: project });
    expect(stdout.trim()).toBe("hello, npm");
    return JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as Lockfile;
  };

  const sri = (data: Buffer) => `sha512-${createHash("sha512").update(data).digest("base64")}`;

  const expectLockThroughProxy = (lock: Lockfile) => {
    const greeter = lock.packages["node_modules/demo-greeter"]!;
    const util = lock.packages["node_modules/@demo/util"]!;
    expect(greeter.resolved).toBe(`${registry()}demo-greeter/-/demo-greeter-1.0.0.tgz`);
    expect(util.resolved).toBe(`${registry()}@demo/util/-/util-1.0.0.tgz`);
    // The integrity npm recorded is that of the bytes published to the upstream.
    expect(greeter.integrity).toBe(sri(published.get("demo-greeter")!));
    expect(util.integrity).toBe(sri(published.get("@demo/util")!));
  };

  it("installs a package and its scoped dependency through the proxy, integrity intact", async () => {
    expectLockThroughProxy(await install("online"));
  });

  it("installs from a private remote with the read token as the Basic-auth password, and refuses without it", async () => {
    // npm's per-registry credentials, keyed by the registry URL without its scheme.
    const credentials = (password: string) => `${registry(privateRemote).replace(/^http:/, "")}:_auth=${Buffer.from(`ci:${password}`).toString("base64")}\n`;
    const lock = await install("private", registry(privateRemote), credentials(readToken));
    expect(lock.packages["node_modules/@demo/util"]!.resolved).toBe(`${registry(privateRemote)}@demo/util/-/util-1.0.0.tgz`);
    await expect(install("private-anonymous", registry(privateRemote))).rejects.toThrow(/E401/);
    await expect(install("private-wrong", registry(privateRemote), credentials("wrong"))).rejects.toThrow(/E401/);
  });

  it("caches the abbreviated and the full packument under different keys", async () => {
    const abbreviated = await fetch(`${registry()}demo-greeter`, { headers: { accept: "application/vnd.npm.install-v1+json" } });
    const full = await fetch(`${registry()}demo-greeter`, { headers: { accept: "application/json" } });
    const short = (await abbreviated.json()) as Record<string, unknown>;
    const long = (await full.json()) as Record<string, unknown>;
    expect(short).not.toHaveProperty("readme");
    expect(long).toHaveProperty("_id", "demo-greeter");
    for (const document of [short, long]) {
      const versions = document.versions as Record<string, { dist: { tarball: string } }>;
      expect(versions["1.0.0"]!.dist.tarball).toBe(`${registry()}demo-greeter/-/demo-greeter-1.0.0.tgz`);
    }
  });

  it("keeps installing from the cache with a clean npm cache once verdaccio is gone", async () => {
    await verdaccio?.stop();
    await eventually(async () => {
      await expect(fetch(`${upstream}/-/ping`)).rejects.toThrow();
    });
    await sleep(1_200); // past mutable_ttl: packuments are now served stale
    expectLockThroughProxy(await install("offline"));
  });
});

/** A registry whose packument declares an integrity its tarball does not have (verdaccio never would). */
describe("npm tarball integrity", () => {
  const origin = new Origin();
  const remote = uniqueName("npm-integrity");
  let stack: TestStack;

  beforeAll(async () => {
    await origin.start();
    const tarball = (name: string) => `${origin.url}/@demo/${name}/-/${name}-1.0.0.tgz`;
    const packument = (name: string, integrity: string) => ({
      _id: `@demo/${name}`,
      name: `@demo/${name}`,
      "dist-tags": { latest: "1.0.0" },
      versions: { "1.0.0": { name: `@demo/${name}`, version: "1.0.0", dist: { tarball: tarball(name), integrity } } },
    });
    const good = Buffer.from("good tarball bytes");
    origin
      .serve("/@demo%2fgood", { body: JSON.stringify(packument("good", `sha512-${createHash("sha512").update(good).digest("base64")}`)), contentType: "application/json" })
      .serve("/@demo/good/-/good-1.0.0.tgz", good)
      .serve("/@demo%2ftampered", { body: JSON.stringify(packument("tampered", `sha512-${createHash("sha512").update("other bytes").digest("base64")}`)), contentType: "application/json" })
      .serve("/@demo/tampered/-/tampered-1.0.0.tgz", Buffer.from("tampered tarball bytes"));
    stack = await startTestStack({ remotes: { [remote]: { base_url: origin.url, package: "npm", allow_private_network: true } } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  const tarballOf = async (name: string) => {
    const packument = (await (await fetch(`${stack.url}/api/v1/remote/${remote}/@demo%2f${name}`)).json()) as {
      versions: Record<string, { dist: { tarball: string } }>;
    };
    return packument.versions["1.0.0"]!.dist.tarball;
  };

  it("serves a scoped tarball that matches dist.integrity", async () => {
    const response = await fetch(await tarballOf("good"));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("good tarball bytes");
  });

  it("refuses, and never caches, a tarball that does not match dist.integrity", async () => {
    const url = await tarballOf("tampered");
    for (let attempt = 1; attempt <= 2; attempt++) {
      const response = await fetch(url);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
    }
    expect(origin.count("/@demo/tampered/-/tampered-1.0.0.tgz")).toBe(2);
  });
});
