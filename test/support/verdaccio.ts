import { execFile, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../infra/local/free-port.ts";
import { sleep } from "./http.ts";

const execFileAsync = promisify(execFile);
const VERDACCIO = join(import.meta.dirname, "../../node_modules/verdaccio/bin/verdaccio");

export interface Verdaccio {
  url: string;
  /** Stops the process (its storage stays in the directory it was given). */
  stop(): Promise<void>;
}

export interface VerdaccioOptions {
  /** A pull-through cache of this registry (verdaccio's `uplinks`), instead of a registry of its own. */
  uplink?: { url: string; maxage: string };
}

/** verdaccio on a free loopback port, its config and storage in `dir`; anyone may register and publish. */
export async function startVerdaccio(dir: string, options: VerdaccioOptions = {}): Promise<Verdaccio> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const config = join(dir, "verdaccio.yaml");
  const { uplink } = options;
  await writeFile(
    config,
    [
      `storage: ${join(dir, "storage")}`,
      "auth:",
      "  htpasswd:",
      `    file: ${join(dir, "htpasswd")}`,
      uplink ? `uplinks: { up: { url: '${uplink.url}', maxage: ${uplink.maxage} } }` : "uplinks: {}",
      "packages:",
      "  '**':",
      "    access: $all",
      "    publish: $authenticated",
      ...(uplink ? ["    proxy: up"] : []),
      "log: { type: stdout, format: pretty, level: warn }",
      "",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [VERDACCIO, "--config", config, "--listen", `127.0.0.1:${port}`], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited with ${child.exitCode} before answering`);
    const up = await fetch(`${url}/-/ping`).then((response) => response.status === 200, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`verdaccio did not answer on ${url} within 60 s`);
    }
    await sleep(100);
  }
  return { url, stop };
}

/** Registers a user on a verdaccio and writes an npmrc at `path` holding its token (what `npm publish` needs). */
export async function writePublisherNpmrc(registry: string, path: string): Promise<void> {
  const response = await fetch(`${registry}/-/user/org.couchdb.user:publisher`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "publisher", password: "publisher-password" }),
  });
  const { token } = (await response.json()) as { token?: string };
  if (!token) throw new Error(`verdaccio gave no token (${response.status})`);
  await writeFile(path, `//${new URL(registry).host}/:_authToken=${token}\n`);
}

export interface NpmConfigFiles {
  userconfig: string;
  globalconfig: string;
}

/**
 * npm with nothing from this machine's or the caller's npm configuration: the given config
 * files only, and every inherited `npm_*` variable removed.
 */
export function npm(cwd: string, args: string[], config: NpmConfigFiles, signal?: AbortSignal): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value;
  const common = ["--userconfig", config.userconfig, "--globalconfig", config.globalconfig, "--update-notifier=false", "--audit=false", "--fund=false"];
  return execFileAsync("npm", [...args, ...common], { cwd, env, signal, timeout: 120_000, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 });
}

export interface PackageSource {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  /** index.js */
  main: string;
}

/** Writes a package's sources to `dir` and publishes them to `registry` with `npm publish`. */
export async function publishPackage(registry: string, dir: string, pkg: PackageSource, config: NpmConfigFiles): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: pkg.name, version: pkg.version, main: "index.js", dependencies: pkg.dependencies }));
  await writeFile(join(dir, "index.js"), pkg.main);
  await npm(dir, ["publish", "--registry", `${registry}/`, "--access", "public"], config);
}
