import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { npm, publishPackage, startVerdaccio, writePublisherNpmrc, type NpmConfigFiles, type PackageSource } from "../test/support/verdaccio.ts";
import { startClientProxy, timed, timeWarmRuns, type ClientResult, type ClientPath } from "./client-runs.ts";
import type { ClientBenchConfig } from "./config.ts";
import { startForwarder } from "./forwarder.ts";
import type { Cleanup } from "./processes.ts";

const REMOTE = "bench-npm";

/**
 * Issue 3: a warm `npm install` of a fixed set of packages through the proxy, through
 * verdaccio's own uplink cache, and straight from the upstream verdaccio.
 */
export async function npmBench(cleanup: Cleanup, config: ClientBenchConfig): Promise<ClientResult> {
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-bench-npm-"));
  cleanup.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  // Two files: npm refuses to load one file as both.
  const clean: NpmConfigFiles = { userconfig: join(dir, "empty-user-npmrc"), globalconfig: join(dir, "empty-global-npmrc") };
  await Promise.all([writeFile(clean.userconfig, ""), writeFile(clean.globalconfig, "")]);

  const upstream = await startVerdaccio(join(dir, "upstream"));
  cleanup.defer("verdaccio (upstream)", () => upstream.stop());
  const publisherRc = join(dir, "publisher-npmrc");
  await writePublisherNpmrc(upstream.url, publisherRc);
  const packages = benchPackages(config.npmPackages);
  // A few at a time: each `npm publish` is a Node process of its own.
  for (let i = 0; i < packages.length; i += 4) {
    await Promise.all(
      packages.slice(i, i + 4).map((pkg, j) => publishPackage(upstream.url, join(dir, "packages", String(i + j)), pkg, { ...clean, userconfig: publisherRc })),
    );
  }

  const toPeer = await startForwarder(cleanup, upstream.url);
  const toProxy = await startForwarder(cleanup, upstream.url);
  const peer = await startVerdaccio(join(dir, "uplink-cache"), { uplink: { url: `${toPeer.url}/`, maxage: "60m" } });
  cleanup.defer("verdaccio (uplink cache)", () => peer.stop());
  const proxy = await startClientProxy(cleanup, join(dir, "proxy"), {
    [REMOTE]: { base_url: toProxy.url, package: "npm", allow_private_network: true, mutable_ttl: 3600 },
  });
  const registries: Record<ClientPath, string> = { proxy: `${proxy}/api/v1/remote/${REMOTE}/`, peer: `${peer.url}/`, direct: `${upstream.url}/` };
  const manifest = JSON.stringify({ name: "bench-app", version: "1.0.0", private: true, dependencies: Object.fromEntries(packages.map((pkg) => [pkg.name, "^1.0.0"])) });

  let round = 0;
  /** A fresh project (same package.json, no node_modules, no lockfile) and a fresh npm cache. */
  const install = (path: ClientPath) => async () => {
    const project = join(dir, "projects", `${path}-${round++}`);
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), manifest);
    const cache = await mkdtemp(join(dir, "cache-"));
    const args = ["install", "--registry", registries[path], "--cache", cache, "--prefer-online"];
    const ms = await timed(() => npm(project, args, clean, cleanup.signal));
    await checkLockfile(project, registries[path], packages.length);
    await Promise.all([rm(project, { recursive: true, force: true }), rm(cache, { recursive: true, force: true })]);
    return ms;
  };
  return timeWarmRuns(
    "npm install",
    [
      { path: "proxy", run: install("proxy"), upstream: toProxy },
      { path: "peer", run: install("peer"), upstream: toPeer },
      { path: "direct", run: install("direct") },
    ],
    config.runs,
  );
}

/** `count` small packages, a quarter of them scoped, each depending on the one before it and on one further back. */
function benchPackages(count: number): PackageSource[] {
  const name = (i: number) => (i % 4 === 3 ? `@bench/pkg-${String(i).padStart(2, "0")}` : `bench-pkg-${String(i).padStart(2, "0")}`);
  return Array.from({ length: count }, (_, i) => ({
    name: name(i),
    version: "1.0.0",
    dependencies: i === 0 ? {} : Object.fromEntries([...new Set([i - 1, Math.floor(i / 2)])].map((dep) => [name(dep), "^1.0.0"])),
    main: `module.exports = ${JSON.stringify(name(i))};\n`,
  }));
}

/** Every package installed, each resolved from the registry the run was meant to use. */
async function checkLockfile(project: string, registry: string, expected: number): Promise<void> {
  const lock = JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as { packages: Record<string, { resolved?: string }> };
  const installed = Object.entries(lock.packages).filter(([key]) => key.startsWith("node_modules/"));
  const elsewhere = installed.filter(([, entry]) => !entry.resolved?.startsWith(registry));
  if (installed.length !== expected || elsewhere.length) {
    throw new Error(`npm install from ${registry}: ${installed.length} of ${expected} packages; resolved elsewhere: ${elsewhere.map(([key, entry]) => `${key} ${entry.resolved}`).join(", ") || "none"}`);
  }
}
