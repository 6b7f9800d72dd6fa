import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import pg from "pg";
import { freePort } from "../infra/local/free-port.ts";
import { captureOutput, type Cleanup } from "./processes.ts";

/** The machine's Postgres; the benchmark creates its databases there and drops them after. */
const ADMIN_URL = process.env.BENCH_POSTGRES_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** A Redis of the benchmark's own, so other users of the machine's Redis never show up in its counts. */
export async function startRedis(cleanup: Cleanup): Promise<string> {
  const port = await freePort();
  const child = cleanup.spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"]);
  const output = captureOutput(child);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    const ok = await client.connect().then(() => client.ping(), () => null);
    client.disconnect();
    if (ok === "PONG") return url;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`redis-server did not start:\n${output()}`);
}

/**
 * The S3 emulator (fauxqs) in a Node process of its own, with `bucket` created; its endpoint.
 * Not in the benchmark's process: the objects it holds (a 1 GiB miss) would slow that process,
 * and with it the Upstash bridge every request of the proxy's reads go through.
 */
export async function startS3(cleanup: Cleanup, bucket: string): Promise<string> {
  const port = await freePort();
  const script = `import("fauxqs").then(async ({ startFauxqs }) => { const s3 = await startFauxqs({ port: ${port}, logger: false, host: "127.0.0.1" }); s3.createBucket(${JSON.stringify(bucket)}); console.log("listening"); })`;
  const child = cleanup.spawn(process.execPath, ["-e", script], { cwd: new URL("..", import.meta.url).pathname });
  const output = captureOutput(child);
  const deadline = Date.now() + 30_000;
  while (!output().includes("listening")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the S3 emulator did not start:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `http://127.0.0.1:${port}`;
}

/** A fresh database on the machine's Postgres, dropped at cleanup. */
export async function createDatabase(cleanup: Cleanup, label: string): Promise<{ name: string; url: string }> {
  const name = `artifactapi_bench_${label}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  cleanup.defer(`drop database ${name}`, () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const admin = new URL(ADMIN_URL);
  admin.pathname = `/${name}`;
  return { name, url: admin.toString() };
}

async function adminQuery<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client(ADMIN_URL);
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * Every command the Worker sends Redis while `during` runs, by command and key prefix
 * (`get idx`, `get config`), seen with MONITOR on the benchmark's own Redis.
 */
export async function countRedisCommands(redisUrl: string, during: () => Promise<void>): Promise<Map<string, number>> {
  const client = new Redis(redisUrl, { lazyConnect: true });
  await client.connect();
  const monitor = await client.monitor();
  const counts = new Map<string, number>();
  monitor.on("monitor", (_time: string, args: string[]) => {
    const name = `${args[0]?.toLowerCase()} ${args[1]?.split(":")[0] ?? ""}`.trim();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  });
  try {
    await during();
    // MONITOR lines trail the commands slightly.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
  return counts;
}

/** Postgres activity in one database, from its statistics views. */
export interface PostgresCounts {
  /** Connections established (the Worker connects per request, and only when it queries). */
  sessions: number;
  /** Scans (sequential + index) and rows written, per table. */
  reads: Map<string, number>;
  writes: Map<string, number>;
}

export async function readPostgresCounts(databaseUrl: string): Promise<PostgresCounts> {
  const client = new pg.Client(databaseUrl);
  await client.connect();
  try {
    const [database] = (
      await client.query<{ sessions: string }>("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    ).rows;
    const tables = await client.query<{ relname: string; reads: string; writes: string }>(
      "SELECT relname, seq_scan + coalesce(idx_scan, 0) AS reads, n_tup_ins + n_tup_upd + n_tup_del AS writes FROM pg_stat_user_tables",
    );
    return {
      sessions: Number(database?.sessions ?? 0),
      reads: new Map(tables.rows.map((row) => [row.relname, Number(row.reads)])),
      writes: new Map(tables.rows.map((row) => [row.relname, Number(row.writes)])),
    };
  } finally {
    await client.end();
  }
}

/** `after − before` per request, as "name 0.123, …" (only what moved), and the total. */
export function perRequest(before: Map<string, number>, after: Map<string, number>, requests: number): { total: number; detail: string } {
  const parts: string[] = [];
  let total = 0;
  for (const [name, value] of after) {
    const delta = value - (before.get(name) ?? 0);
    if (delta <= 0) continue;
    total += delta;
    parts.push(`${name} ${(delta / requests).toFixed(3)}`);
  }
  return { total: total / requests, detail: parts.join(", ") || "none" };
}

/** Postgres publishes a backend's statistics at most once a second. */
export const STATS_SETTLE_MS = 1_500;
