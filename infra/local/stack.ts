import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { parse as parseYaml } from "yaml";
import WebSocket from "ws";
import { CONFIG_VERSION_KEY } from "../../functions/config/cache.ts";
import { ConfigError, parseConfigFile, type RepositoryConfig } from "../../functions/config/schema.ts";
import type { VirtualConfig } from "../../functions/config/virtual.ts";
import { createStores } from "../../functions/stores.ts";
import { applyMigrations } from "../meta/migrate.ts";
import { PgConnection } from "../pg/connection.ts";
import { chooseBackends } from "./backends.ts";
import { buildWorker } from "./build-worker.ts";
import { freePort } from "./free-port.ts";
import { outboundGuard, type OutboundSeam } from "./outbound-guard.ts";
import { startPgWsBridge } from "./pg-ws-bridge.ts";
import { startUpstashBridge } from "./upstash-bridge.ts";


export interface StackOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  configPath: string;
  dataDir: string;
  env: Record<string, string | undefined>;
  /** A Worker bundle built earlier (tests build once); built now when omitted. */
  bundleDir?: string;
  log?: (line: string) => void;
  /**
   * Test seam: requests to these host names are answered in Node instead of the network, so a
   * test can give a loopback origin a public-looking host name; every other connection goes
   * through the outbound guard as always.
   */
  outbound?: OutboundSeam;
  /** Chrome DevTools protocol on 127.0.0.1:PORT, to debug or profile the Worker (`INSPECTOR_PORT`). */
  inspectorPort?: number;
}

export interface Stack {
  url: string;
  /** The backends in use, for logs and tests. */
  backends: string[];
  stop(): Promise<void>;
}

/**
 * Runs the whole proxy on one machine: the Worker in workerd (Miniflare), and whatever
 * local pieces the chosen backends need (PGlite, the Postgres WebSocket bridge, the Upstash
 * bridge). The remotes file is validated whole before anything starts.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => {});
  const prepared = await prepareBackends(options);
  try {
    const bundleDir = options.bundleDir ?? (await buildWorker(join(options.dataDir, "build")));
    const guard = outboundGuard(prepared.bindings, options.outbound);
    const worker = new Miniflare(
      convertV4MiniflareOptions({
        host: options.host ?? "127.0.0.1",
        port: options.port ?? 0,
        inspectorPort: options.inspectorPort,
        resourcePersistencePath: join(options.dataDir, "worker"),
        workers: [
          {
            modules: true,
            scriptPath: join(bundleDir, "index.js"),
            modulesRoot: bundleDir,
            compatibilityDate: "2026-11-01",
            compatibilityFlags: ["nodejs_compat"],
            r2Buckets: { BLOBS: "artifactapi-blobs" },
            // wrangler.toml's FILLS: concurrent misses of a key meet in one Durable Object.
            durableObjects: { FILLS: "FillCoordinator" },
            bindings: prepared.bindings,
            ...guard.worker,
          },
          guard.guard,
        ],
      }),
    );
    const ready = (await worker.ready).toString().replace(/\/$/, "");
    // For a HOST that is not a loopback name, Miniflare's ready URL is an extra local socket of
    // its own: the address users were told to use is HOST:PORT.
    const host = options.host ?? "127.0.0.1";
    const url = options.port ? `http://${host.includes(":") ? `[${host}]` : host}:${options.port}` : ready;
    log(`artifactapi-edge listening on ${url} (${prepared.backends.join(", ")}; ${repositoryCounts(prepared.remotes)})`);
    const maintenance = scheduleMaintenance(url, prepared.bindings.ADMIN_TOKEN, log);
    return {
      url,
      backends: prepared.backends,
      stop: async () => {
        clearInterval(maintenance);
        await worker.dispose().catch(() => {});
        await prepared.stop();
      },
    };
  } catch (error) {
    await prepared.stop();
    throw error;
  }
}

/** "3 remotes, 1 locals": what the listening line says the remotes file held. */
export function repositoryCounts(remotes: RepositoryConfig[]): string {
  const locals = remotes.filter((repository) => repository.type === "local").length;
  return `${remotes.length - locals} remotes${locals > 0 ? `, ${locals} locals` : ""}`;
}

/** How often `npm start` runs the maintenance a deployed Worker gets from its Cron Trigger. */
const MAINTENANCE_EVERY_MS = 10 * 60_000;

/** The Cron Trigger's work on a timer, through the management API (needs the admin token). */
export function scheduleMaintenance(url: string, adminToken: string | undefined, log: (line: string) => void): ReturnType<typeof setInterval> | undefined {
  const token = adminToken?.split(",")[0]?.trim();
  if (!token) return undefined;
  const timer = setInterval(() => {
    fetch(`${url}/api/v2/maintenance`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" })
      .then(async (response) => response.ok || log(`maintenance failed: ${response.status} ${await response.text()}`))
      .catch((error: Error) => log(`maintenance failed: ${error.message}`));
  }, MAINTENANCE_EVERY_MS);
  timer.unref();
  return timer;
}

export interface PreparedBackends {
  /** What the Worker is bound to (DATABASE_URL, PG_WS_PROXY, UPSTASH_*, S3_*, referenced secrets). */
  bindings: Record<string, string>;
  /** The backends in use, for logs. */
  backends: string[];
  /** Everything the remotes file names: remotes and locals. */
  remotes: RepositoryConfig[];
  stop(): Promise<void>;
}

/**
 * Everything the Worker needs besides its runtime: the local pieces the chosen backends need,
 * migrations and the remotes stored. Separate from startStack so another runtime (the
 * benchmark's `wrangler dev`) can run the same Worker on the same backends.
 */
export async function prepareBackends(options: Pick<StackOptions, "configPath" | "dataDir" | "env">): Promise<PreparedBackends> {
  const { repositories: remotes, virtuals } = await loadRemotesFile(options.configPath);
  const choice = chooseBackends(options.env);
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => {});
  };

  try {
    await mkdir(options.dataDir, { recursive: true });
    let databaseUrl = choice.databaseUrl;
    if (databaseUrl === null) {
      const embedded = await startEmbeddedPostgres(join(options.dataDir, "pglite"));
      stops.push(embedded.stop);
      databaseUrl = embedded.url;
    }
    const dbAddress = new URL(databaseUrl);
    const bridge = await startPgWsBridge({ allowedAddress: `${dbAddress.hostname}:${dbAddress.port || 5432}` });
    stops.push(() => bridge.close());

    const bindings: Record<string, string> = { DATABASE_URL: databaseUrl, PG_WS_PROXY: bridge.wsProxy };
    if (choice.state.kind === "upstash") {
      bindings.UPSTASH_REDIS_REST_URL = choice.state.url;
      bindings.UPSTASH_REDIS_REST_TOKEN = choice.state.token;
    } else if (choice.state.kind === "redis") {
      const upstash = await startUpstashBridge({ redisUrl: choice.state.url, token: randomBytes(24).toString("hex") });
      stops.push(() => upstash.close());
      bindings.UPSTASH_REDIS_REST_URL = upstash.url;
      bindings.UPSTASH_REDIS_REST_TOKEN = upstash.token;
    }
    if (choice.blobs.kind === "s3") {
      bindings.S3_ENDPOINT = choice.blobs.endpoint;
      bindings.S3_BUCKET = choice.blobs.bucket;
      bindings.S3_ACCESS_KEY_ID = choice.blobs.accessKeyId;
      bindings.S3_SECRET_ACCESS_KEY = choice.blobs.secretAccessKey;
      bindings.S3_REGION = choice.blobs.region;
    }
    Object.assign(bindings, referencedSecrets([...remotes, ...virtuals], options.env));
    // Management API tokens (comma-separated lists; unset ADMIN_TOKEN leaves the API and the web UI
    // locked), the web UI's optional session key, and tuning.
    for (const name of ["ADMIN_TOKEN", "READ_TOKEN", "SESSION_SECRET", "UI_ON_MAPPED_HOSTS", "FETCH_LEASE_SECONDS", "BACKEND_TIMEOUT_SECONDS", "S3_REQUEST_TIMEOUT_SECONDS", "BLOB_CACHE_API"]) if (options.env[name]) bindings[name] = options.env[name]!;
    // The base URL rewritten documents point at, and whether a load balancer's X-Forwarded-* count.
    const publicUrl = options.env.PUBLIC_URL;
    if (publicUrl && !/^https?:\/\/[^/?#@]+(\/[^?#]*)?$/.test(publicUrl)) {
      throw new ConfigError([`PUBLIC_URL: must be an http(s) URL without query or credentials (got ${JSON.stringify(publicUrl)})`]);
    }
    for (const name of ["PUBLIC_URL", "TRUST_FORWARDED"]) if (options.env[name]) bindings[name] = options.env[name]!;

    await storeRemotes(remotes, virtuals, bindings);
    const backends = [
      choice.databaseUrl ? "metadata: postgres" : "metadata: embedded PGlite",
      `state: ${choice.state.kind === "postgres" ? "postgres tables" : choice.state.kind}`,
      `blobs: ${choice.blobs.kind === "r2" ? "local R2" : "S3"}`,
    ];
    return { bindings, backends, remotes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function loadRemotesFile(path: string): Promise<{ repositories: RepositoryConfig[]; virtuals: VirtualConfig[] }> {
  let document: unknown;
  try {
    document = parseYaml(await readFile(path, "utf8"));
  } catch (error) {
    throw new ConfigError([`${path}: ${(error as Error).message}`]);
  }
  return parseConfigFile(document ?? {});
}

/** Writes the remotes and virtuals (each in one transaction) and bumps the version every isolate watches. */
async function storeRemotes(remotes: RepositoryConfig[], virtuals: VirtualConfig[], bindings: Record<string, string>): Promise<void> {
  const pg = new PgConnection({ databaseUrl: bindings.DATABASE_URL!, wsProxy: bindings.PG_WS_PROXY, webSocketConstructor: WebSocket });
  try {
    await applyMigrations(pg);
  } finally {
    await pg.close();
  }
  // The Worker's own store builder, with the bindings the Worker gets: one place knows the adapters.
  const stores = createStores(bindings, { webSocketConstructor: WebSocket });
  try {
    // Virtuals the file no longer names go first, before the members they named.
    await stores.meta.applyRemotesFile(remotes.map(({ name, ...config }) => ({ name, config })), virtuals.map(({ name, ...config }) => ({ name, config })));
    await stores.state.incr(CONFIG_VERSION_KEY);
  } finally {
    await stores.close();
  }
}

/** Only the environment variables the remotes' auth names are handed to the Worker. */
function referencedSecrets(remotes: (RepositoryConfig | VirtualConfig)[], env: Record<string, string | undefined>): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const remote of remotes) {
    const auth = ("auth" in remote ? remote.auth : undefined) as Record<string, unknown> | undefined;
    // `auth.*_env` and the entry's own (`read_tokens_env`, a local's `write_tokens_env`, CircleCI's `token_env`).
    for (const [key, name] of [...Object.entries(auth ?? {}), ...Object.entries(remote)]) {
      if (key.endsWith("_env") && typeof name === "string" && env[name] !== undefined) secrets[name] = env[name]!;
    }
  }
  return secrets;
}

async function startEmbeddedPostgres(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 256 });
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
