import { randomBytes } from "node:crypto";
import { startFauxqs } from "fauxqs";
import pg from "pg";
import { TcpFaultProxy } from "./fault-proxy.ts";
import { startRecordingProxy, type RecordingProxy } from "./recording-proxy.ts";
import { startOwnRedis, type OwnRedis } from "./redis-server.ts";

/** The real Postgres on this machine; every suite gets a database of its own. */
const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface ExternalBackends {
  env: Record<string, string>;
  /** Takes the S3 emulator away, as an outage would. */
  stopS3(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Real services instead of the embedded default: a fresh database on the machine's Postgres,
 * the machine's Redis (through the project's Upstash bridge), and an S3 emulator.
 */
export async function startExternalBackends(): Promise<ExternalBackends> {
  const database = `artifactapi_test_${randomBytes(4).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${database}`);
  const s3 = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  let s3Running = true;
  const stopS3 = async () => {
    if (s3Running) await s3.stop();
    s3Running = false;
  };
  const bucket = "artifacts";
  s3.createBucket(bucket);
  return {
    env: {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      REDIS_URL: "redis://127.0.0.1:6379",
      S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: "test",
      S3_SECRET_ACCESS_KEY: "test",
      S3_REGION: "us-east-1",
    },
    stopS3: () => stopS3(),
    async stop() {
      await stopS3();
      await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client(ADMIN_URL);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface FaultyBackends extends ExternalBackends {
  /** In front of the machine's Redis (the Upstash bridge connects through it). */
  redis: TcpFaultProxy;
  /** In front of the machine's Postgres (the WebSocket bridge connects through it). */
  postgres: TcpFaultProxy;
  /** In front of the S3 emulator: records requests, answers errors or stalls. */
  s3: RecordingProxy;
}

/** The external backends, each reached through a proxy that a test can make fail. */
export async function startFaultyBackends(): Promise<FaultyBackends> {
  const backends = await startExternalBackends();
  const redis = await new TcpFaultProxy({ host: "127.0.0.1", port: 6379 }).start();
  const postgres = await new TcpFaultProxy({ host: "127.0.0.1", port: 5432 }).start();
  const s3 = await startRecordingProxy(backends.env.S3_ENDPOINT!);
  const database = new URL(backends.env.DATABASE_URL!);
  database.port = String(postgres.port);
  return {
    ...backends,
    env: { ...backends.env, DATABASE_URL: database.href, REDIS_URL: `redis://127.0.0.1:${redis.port}`, S3_ENDPOINT: s3.url },
    redis,
    postgres,
    s3,
    async stop() {
      await Promise.all([redis.stop(), postgres.stop(), s3.stop()]);
      await backends.stop();
    },
  };
}

export interface OwnBackends {
  /** The backend variables, REDIS_URL pointing at the suite's own Redis. */
  env: Record<string, string>;
  redis: OwnRedis;
  stop(): Promise<void>;
}

/** External backends with a Redis of the suite's own, for tests that flush the state store. */
export async function startOwnBackends(): Promise<OwnBackends> {
  const backends = await startExternalBackends();
  const redis = await startOwnRedis().catch(async (error: Error) => {
    await backends.stop();
    throw error;
  });
  return {
    env: { ...backends.env, REDIS_URL: redis.url },
    redis,
    async stop() {
      await redis.stop();
      await backends.stop();
    },
  };
}
