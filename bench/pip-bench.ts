import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../infra/local/free-port.ts";
import { startClientProxy, timed, timeWarmRuns, type ClientPath, type ClientResult } from "./client-runs.ts";
import type { ClientBenchConfig } from "./config.ts";
import { startForwarder } from "./forwarder.ts";
import { captureOutput, run, waitForHttp, type Cleanup } from "./processes.ts";

const REMOTE = "bench-pypi";
const FIXTURE = resolve(import.meta.dirname, "../test/e2e/fixtures/build_python_packages.py");

/** Loads the e2e fixture's write_wheel and writes `count` wheels, each requiring the one before it. */
const WRITE_WHEELS = `
import sys
fixture, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
module = {"__name__": "build_python_packages"}
exec(compile(open(fixture).read(), fixture, "exec"), module)
namespace = {}
exec(module["WHEEL_WRITER"], namespace)
for i in range(count):
    name = f"bench-wheel-{i:02}"
    requires = [f"bench-wheel-{i - 1:02}>=1.0"] if i else []
    print(namespace["write_wheel"](out, name, "1.0.0", {f"bench_wheel_{i:02}/__init__.py": f"VALUE = {i}\\n"}, requires))
`;

/** pip with this machine's configuration neutralised: only the index on the command line. */
const PIP_ENV = (() => {
  const env: NodeJS.ProcessEnv = { ...process.env, PIP_CONFIG_FILE: "/dev/null", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
  for (const name of ["PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"]) delete env[name];
  return env;
})();

/** Issue 3: a warm `pip download` of a set of wheels through the proxy and straight from a PEP 503 index. */
export async function pipBench(cleanup: Cleanup, config: ClientBenchConfig): Promise<ClientResult> {
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-bench-pip-"));
  cleanup.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  const root = join(dir, "index");
  const names = await writeIndex(root, config.pipWheels);

  const port = await freePort();
  const server = cleanup.spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", root]);
  const upstream = `http://127.0.0.1:${port}`;
  await waitForHttp(`${upstream}/simple/`, 15_000, server, captureOutput(server));
  const toProxy = await startForwarder(cleanup, upstream);
  const proxy = await startClientProxy(cleanup, join(dir, "proxy"), {
    [REMOTE]: { base_url: toProxy.url, package: "pypi", allow_private_network: true, mutable_ttl: 3600 },
  });
  const indexes: Partial<Record<ClientPath, string>> = { proxy: `${proxy}/api/v1/remote/${REMOTE}/simple/`, direct: `${upstream}/simple/` };

  const download = (path: ClientPath) => async () => {
    const dest = await mkdtemp(join(dir, "download-"));
    const args = ["-m", "pip", "download", "--no-cache-dir", "-d", dest, "--index-url", indexes[path]!, ...names];
    const ms = await timed(() => run("python3", args, 120_000, { env: PIP_ENV, signal: cleanup.signal }));
    const files = await readdir(dest);
    if (files.length !== names.length) throw new Error(`pip download from ${indexes[path]}: ${files.length} of ${names.length} files`);
    await rm(dest, { recursive: true, force: true });
    return ms;
  };
  return timeWarmRuns(
    "pip download",
    [
      { path: "proxy", run: download("proxy"), upstream: toProxy },
      { path: "direct", run: download("direct") },
    ],
    config.runs,
  );
}

/**
 * A static PEP 503 tree: `packages/<wheel>` and `simple/<project>/index.html` linking to it
 * relatively with `#sha256=`, as a plain mirror lays it out. Returns the project names.
 */
async function writeIndex(root: string, count: number): Promise<string[]> {
  const packages = join(root, "packages");
  await mkdir(packages, { recursive: true });
  const wheels = (await run("python3", ["-c", WRITE_WHEELS, FIXTURE, packages, String(count)], 60_000)).trim().split("\n");
  const names: string[] = [];
  for (const wheel of wheels) {
    const name = wheel.split("-")[0]!.replaceAll("_", "-");
    const sha256 = createHash("sha256").update(await readFile(join(packages, wheel))).digest("hex");
    await mkdir(join(root, "simple", name), { recursive: true });
    await writeFile(join(root, "simple", name, "index.html"), `<!DOCTYPE html><html><body><a href="../../packages/${wheel}#sha256=${sha256}">${wheel}</a></body></html>\n`);
    names.push(name);
  }
  const links = names.map((name) => `<a href="${name}/">${name}</a>`).join("\n");
  await writeFile(join(root, "simple", "index.html"), `<!DOCTYPE html><html><body>\n${links}\n</body></html>\n`);
  return names;
}
