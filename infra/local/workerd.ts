import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { basename, dirname, join, relative, resolve } from "node:path";
import { outboundDenyList } from "../../functions/proxy/network-policy.ts";
import { ConfigError } from "../../functions/config/schema.ts";
import { buildWorker } from "./build-worker.ts";
import { backendHosts, extraCaCertificates, GUARD_SCRIPT } from "./outbound-guard.ts";
import { prepareBackends, repositoryCounts, scheduleMaintenance, type Stack, type StackOptions } from "./stack.ts";

const root = resolve(new URL("../..", import.meta.url).pathname);
const WORKERD = join(root, "node_modules/.bin/workerd");
const COMPATIBILITY_DATE = "2026-11-01";

/** One workerd service of a generated config, in Cap'n Proto text. */
type Service = string;

/** A Cap'n Proto text literal. JSON's string escapes are a subset of Cap'n Proto's. */
const text = (value: string) => JSON.stringify(value);
const list = (values: string[]) => `[${values.join(", ")}]`;

export interface WorkerService {
  name: string;
  /** The main module and the directory its module names are relative to. */
  modulesDir: string;
  main: string;
  /** Text bindings (Worker variables and secrets). */
  vars?: Record<string, string>;
  /** JSON bindings. */
  json?: Record<string, unknown>;
  /** Service bindings: binding name → service name. */
  services?: Record<string, string>;
  /** The service the global fetch goes to (default: workerd's "internet"). */
  globalOutbound?: string;
  /** Durable Object classes exported by the main module, bound under these names; kept in memory. */
  durableObjects?: Record<string, string>;
}

/**
 * A Worker as workerd's config spells it. Module paths are embedded relative to the config
 * file's directory (a path starting with '/' would be looked up in workerd's import path).
 */
export function workerService(service: WorkerService, configDir: string): Service {
  const bindings = [
    ...Object.entries(service.vars ?? {}).map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`),
    ...Object.entries(service.json ?? {}).map(([name, value]) => `(name = ${text(name)}, json = ${text(JSON.stringify(value))})`),
    ...Object.entries(service.services ?? {}).map(([name, target]) => `(name = ${text(name)}, service = ${text(target)})`),
    ...Object.entries(service.durableObjects ?? {}).map(([name, className]) => `(name = ${text(name)}, durableObjectNamespace = (className = ${text(className)}))`),
  ];
  const modulePath = relative(configDir, join(service.modulesDir, service.main));
  const fields = [
    `modules = [(name = ${text(service.main)}, esModule = embed ${text(modulePath)})]`,
    `compatibilityDate = ${text(COMPATIBILITY_DATE)}`,
    `bindings = ${list(bindings)}`,
    ...(service.globalOutbound ? [`globalOutbound = ${text(service.globalOutbound)}`] : []),
  ];
  const classes = Object.values(service.durableObjects ?? {});
  if (classes.length > 0) {
    // The coordinator keeps nothing in storage: fills are in flight only, so memory is enough.
    const namespaces = classes.map((className) => `(className = ${text(className)}, uniqueKey = ${text(`${service.name}-${className}`)}, enableSql = true)`);
    fields.push(`durableObjectNamespaces = ${list(namespaces)}`, "durableObjectStorage = (inMemory = void)");
  }
  return `(name = ${text(service.name)}, worker = (${fields.join(", ")}))`;
}

/** A workerd network service: connections only to addresses in `allow` less `deny`, names resolved first. */
export function networkService(name: string, allow: string[], deny: string[] = []): Service {
  const certificates = extraCaCertificates();
  const tls = `tlsOptions = (trustBrowserCas = true${certificates.length ? `, trustedCertificates = ${list(certificates.map(text))}` : ""})`;
  return `(name = ${text(name)}, network = (allow = ${list(allow.map(text))}, deny = ${list(deny.map(text))}, ${tls}))`;
}

/** The whole config: the services and one HTTP socket in front of `entry`. */
export function workerdConfig(services: Service[], entry: string, address: string): string {
  return [
    `using Workerd = import "/workerd/workerd.capnp";`,
    `const config :Workerd.Config = (`,
    `  services = [\n    ${services.join(",\n    ")}\n  ],`,
    `  sockets = [(name = "http", address = ${text(address)}, http = (), service = ${text(entry)})],`,
    `);`,
    "",
  ].join("\n");
}

export interface RunningWorkerd {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited, for whatever reason. */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Writes the config to `dir` and runs workerd on it; resolves once its socket listens (workerd
 * reports the port on its control descriptor). The Worker's console goes to `log`.
 */
export async function runWorkerd(
  dir: string,
  config: (configDir: string, address: string) => string,
  host: string,
  port: number,
  log: (line: string) => void,
  inspectorPort?: number,
): Promise<RunningWorkerd> {
  await mkdir(dir, { recursive: true });
  const configPath = join(dir, "workerd.capnp");
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  await writeFile(configPath, config(dir, address));
  // A process group of its own: a terminal's Ctrl-C reaches the launcher alone, which stops workerd and then the bridges it needs.
  const child = spawn(WORKERD, ["serve", configPath, "--control-fd=3", ...(inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [])], { cwd: dir, stdio: ["ignore", "pipe", "pipe", "pipe"], detached: true });
  let output = "";
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      if (output.length < 64 * 1024) output += `${line}\n`;
      log(line);
    });
  }
  const exited = new Promise<void>((resolvePromise) => child.once("exit", () => resolvePromise()));
  const listening = new Promise<number>((resolvePromise, reject) => {
    createInterface({ input: child.stdio[3] as NodeJS.ReadableStream }).on("line", (line) => {
      const message = JSON.parse(line) as { event?: string; socket?: string; port?: number };
      if (message.event === "listen" && message.socket === "http") resolvePromise(message.port!);
    });
    void exited.then(() => reject(new Error(`workerd exited before listening on ${address}:\n${output}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    const listenPort = await listening;
    const urlHost = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
    return { url: `http://${urlHost}:${listenPort}`, pid: child.pid!, child, exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The Worker's name in the generated config (and its Durable Objects' unique keys). */
const PROXY = "artifactapi-edge";
const GUARD = "outbound-guard";

/**
 * `npm run serve`: the bundled Worker on workerd itself, no Miniflare, on the same backends as
 * `npm start` (prepareBackends) — except blobs, which need an S3 API here (R2 is Miniflare's).
 * The outbound guard, the FILLS coordinator and the maintenance timer are as under `npm start`.
 */
export async function startWorkerdStack(options: StackOptions): Promise<Stack & { workerdPid: number }> {
  const log = options.log ?? (() => {});
  if (!options.env.S3_ENDPOINT && !options.env.MINIO_ENDPOINT) {
    throw new ConfigError(["npm run serve keeps blobs in an S3 API: set S3_ENDPOINT (and S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY); local R2 exists only under npm start"]);
  }
  const prepared = await prepareBackends(options);
  try {
    const bundleDir = options.bundleDir ?? (await buildWorker(join(options.dataDir, "build")));
    const host = options.host ?? "127.0.0.1";
    const workerd = await runWorkerd(
      join(options.dataDir, "workerd"),
      (configDir, address) =>
        workerdConfig(
          [
            workerService(
              {
                name: PROXY,
                modulesDir: bundleDir,
                main: "index.js",
                vars: prepared.bindings,
                services: { PRIVATE_NETWORK: "unrestricted-network" },
                globalOutbound: GUARD,
                durableObjects: { FILLS: "FillCoordinator" },
              },
              configDir,
            ),
            workerService(
              {
                name: GUARD,
                modulesDir: dirname(GUARD_SCRIPT),
                main: basename(GUARD_SCRIPT),
                json: { BACKEND_HOSTS: backendHosts(prepared.bindings) },
                services: { PUBLIC_NETWORK: "public-network" },
                // The guard's own fetch reaches only the backends it lets through, on loopback or a private network.
                globalOutbound: "unrestricted-network",
              },
              configDir,
            ),
            networkService("public-network", ["public"], outboundDenyList()),
            networkService("unrestricted-network", ["public", "private"]),
          ],
          PROXY,
          address,
        ),
      host,
      options.port ?? 0,
      log,
      options.inspectorPort,
    );
    log(`artifactapi-edge listening on ${workerd.url} (workerd ${workerd.pid}, no Miniflare; ${prepared.backends.join(", ")}; ${repositoryCounts(prepared.remotes)})`);
    const maintenance = scheduleMaintenance(workerd.url, prepared.bindings.ADMIN_TOKEN, log);
    let stopping = false;
    // A launcher whose runtime died must not linger as if serving: it exits, so a supervisor restarts it.
    void workerd.exited.then(async () => {
      if (stopping) return;
      log(`workerd exited unexpectedly (${workerd.child.exitCode ?? workerd.child.signalCode}); stopping`);
      clearInterval(maintenance);
      await prepared.stop();
      process.exit(1);
    });
    return {
      url: workerd.url,
      backends: prepared.backends,
      workerdPid: workerd.pid,
      stop: async () => {
        stopping = true;
        clearInterval(maintenance);
        await workerd.stop();
        await prepared.stop();
      },
    };
  } catch (error) {
    await prepared.stop();
    throw error;
  }
}
