import { readdir, readFile, mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { freePort } from "../infra/local/free-port.ts";
import { prepareBackends, startStack } from "../infra/local/stack.ts";
import { networkService, runWorkerd, startWorkerdStack, workerdConfig, workerService } from "../infra/local/workerd.ts";
import { captureOutput, waitForHttp, type Cleanup } from "./processes.ts";

const root = resolve(new URL("..", import.meta.url).pathname);
const COMPATIBILITY_DATE = "2026-11-01";

/** The runtime's floor: a Worker that answers 1 KiB and does nothing else. */
const EMPTY_WORKER = `export default { fetch: () => new Response("x".repeat(1024)) };\n`;

export interface Running {
  url: string;
  /** The workerd that runs the Worker (Miniflare only: wrangler dev runs several processes). */
  workerdPid: number | null;
}

export interface ProxyOptions {
  configPath: string;
  dataDir: string;
  env: Record<string, string>;
}

/** The proxy as `npm start` runs it: one workerd process through Miniflare's API. */
export async function proxyOnMiniflare(cleanup: Cleanup, options: ProxyOptions): Promise<Running> {
  const before = await workerdChildren();
  const stack = await startStack({ ...options, port: 0 });
  cleanup.defer("proxy (miniflare)", () => stack.stop());
  return { url: stack.url, workerdPid: await newWorkerd(before) };
}

/** The same Worker and backends under `wrangler dev` (an entry workerd, the Worker's workerd and Node in the path). */
export async function proxyOnWrangler(cleanup: Cleanup, options: ProxyOptions): Promise<Running> {
  const prepared = await prepareBackends(options);
  cleanup.defer("backends for wrangler dev", () => prepared.stop());
  const vars = Object.entries(prepared.bindings).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  return { url: await wranglerDev(cleanup, root, [], join(options.dataDir, "wrangler-state"), vars), workerdPid: null };
}

/** The proxy as `npm run serve` runs it: workerd itself, no Miniflare (the options' env must name an S3 API). */
export async function proxyOnWorkerd(cleanup: Cleanup, options: ProxyOptions): Promise<Running> {
  const stack = await startWorkerdStack({ ...options, port: 0 });
  cleanup.defer("proxy (workerd)", () => stack.stop());
  return { url: stack.url, workerdPid: stack.workerdPid };
}

/** A bundled Worker alone on workerd itself, with text bindings (no Miniflare). */
export async function scriptOnWorkerd(cleanup: Cleanup, dir: string, bundleDir: string, main: string, vars: Record<string, string> = {}): Promise<Running> {
  const worker = await runWorkerd(
    dir,
    (configDir, address) =>
      workerdConfig(
        // Its fetches go to the benchmark's own servers on loopback (workerd's default "internet" is public addresses only).
        [workerService({ name: "bench", modulesDir: bundleDir, main, vars, globalOutbound: "loopback" }, configDir), networkService("loopback", ["public", "private"])],
        "bench",
        address,
      ),
    "127.0.0.1",
    0,
    (line) => console.error(`workerd (${main}): ${line}`),
  );
  cleanup.defer(`worker (workerd) ${main}`, () => worker.stop());
  return { url: worker.url, workerdPid: worker.pid };
}

export async function emptyOnWorkerd(cleanup: Cleanup, dir: string): Promise<Running> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "empty.js"), EMPTY_WORKER);
  return scriptOnWorkerd(cleanup, join(dir, "workerd"), dir, "empty.js");
}

/** A bundled Worker (buildWorker's output: the directory and its main module's name) alone in one workerd. */
export async function scriptOnMiniflare(
  cleanup: Cleanup,
  bundleDir: string,
  main: string,
  r2?: { buckets: Record<string, string>; persistTo: string },
): Promise<Running> {
  const before = await workerdChildren();
  const worker = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      modules: true,
      scriptPath: join(bundleDir, main),
      modulesRoot: bundleDir,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ["nodejs_compat"],
      ...(r2 ? { r2Buckets: r2.buckets, r2Persist: r2.persistTo } : {}),
    }),
  );
  cleanup.defer("worker (miniflare)", () => worker.dispose());
  const url = (await worker.ready).toString().replace(/\/$/, "");
  return { url, workerdPid: await newWorkerd(before) };
}

export async function emptyOnMiniflare(cleanup: Cleanup): Promise<Running> {
  const before = await workerdChildren();
  const worker = new Miniflare(
    convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, modules: true, script: EMPTY_WORKER, compatibilityDate: COMPATIBILITY_DATE }),
  );
  cleanup.defer("empty handler (miniflare)", () => worker.dispose());
  const url = (await worker.ready).toString().replace(/\/$/, "");
  return { url, workerdPid: await newWorkerd(before) };
}

export async function emptyOnWrangler(cleanup: Cleanup, dir: string): Promise<Running> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "index.js"), EMPTY_WORKER);
  await writeFile(join(dir, "wrangler.toml"), `name = "bench-empty"\nmain = "index.js"\ncompatibility_date = "${COMPATIBILITY_DATE}"\n`);
  return { url: await wranglerDev(cleanup, dir, ["--config", join(dir, "wrangler.toml")], join(dir, "state"), []), workerdPid: null };
}

/** A bundled Worker under wrangler dev, with a local R2 bucket as BLOBS (the blob floor there). */
export async function scriptOnWrangler(cleanup: Cleanup, dir: string, bundleDir: string, main: string): Promise<Running> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, "wrangler.toml");
  await writeFile(
    config,
    `name = "bench-script"\nmain = "${join(bundleDir, main)}"\ncompatibility_date = "${COMPATIBILITY_DATE}"\ncompatibility_flags = ["nodejs_compat"]\n\n[[r2_buckets]]\nbinding = "BLOBS"\nbucket_name = "floor"\n`,
  );
  return { url: await wranglerDev(cleanup, dir, ["--config", config], join(dir, "state"), []), workerdPid: null };
}

async function wranglerDev(cleanup: Cleanup, cwd: string, configArgs: string[], persistTo: string, vars: string[]): Promise<string> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    join(root, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    ...configArgs,
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(inspectorPort),
    "--persist-to", persistTo,
    "--show-interactive-dev-session=false",
    "--log-level", "warn",
    ...vars,
  ];
  const child = cleanup.spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
  });
  const output = captureOutput(child);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, 60_000, child, output);
  return url;
}

/** workerd processes started by this Node process (Miniflare spawns one per instance). */
export async function workerdChildren(): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Fields after the parenthesised command: state, ppid, …
    const match = stat.match(/^\d+ \((.*)\) \S+ (\d+)/);
    if (match && match[1] === "workerd" && Number(match[2]) === process.pid) pids.add(Number(entry));
  }
  return pids;
}

async function newWorkerd(before: Set<number>): Promise<number | null> {
  const added = [...(await workerdChildren())].filter((pid) => !before.has(pid));
  return added.length === 1 ? added[0]! : null;
}

/** Resident memory of a process, in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1]);
  return kib / 1024;
}

/** Samples a process's RSS every 20 ms until `work` settles; returns the baseline and the peak. */
export async function sampledRss<T>(pid: number, work: Promise<T>): Promise<{ result: T; baseline: number; peak: number }> {
  const baseline = await rssMiB(pid);
  let peak = baseline;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, await rssMiB(pid));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return { result: await work, baseline, peak };
  } finally {
    done = true;
    await sampler;
  }
}

/**
 * A loopback origin that answers each path with the document `bodyFor` gives for it, in 1 MiB
 * writes with backpressure as a real registry streams; returns its URL.
 */
export async function documentOrigin(cleanup: Cleanup, bodyFor: (path: string) => Buffer): Promise<string> {
  const origin = createServer((req, res) => {
    const body = bodyFor(req.url!);
    res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
    let offset = 0;
    const next = () => {
      while (offset < body.length) if (!res.write(body.subarray(offset, (offset += 1 << 20)))) return void res.once("drain", next);
      res.end();
    };
    next();
  });
  await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
  cleanup.defer("origin", () => new Promise((resolve) => origin.close(resolve)));
  return `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
}
