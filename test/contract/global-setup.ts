import { randomBytes } from "node:crypto";
import { startFauxqs } from "fauxqs";
import WebSocket from "ws";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../../infra/meta/migrate.ts";
import { PgConnection } from "../../infra/pg/connection.ts";
import { startPgWsBridge } from "../../infra/local/pg-ws-bridge.ts";
import { startUpstashBridge } from "../../infra/local/upstash-bridge.ts";

/** What the contract tests inside workerd receive as the `BACKENDS` binding. */
export interface Backends {
  s3Endpoint: string;
  s3Bucket: string;
  upstashUrl: string;
  upstashToken: string;
  databaseUrl: string;
  /** A database of this run's own, for tests that act on every row (maintenance sweeps). */
  ownDatabaseUrl: string;
  pgWsProxy: string;
}

declare module "vitest" {
  interface ProvidedContext {
    backends: Backends;
  }
}

const POSTGRES = "127.0.0.1:5432";
const DATABASE_URL = `postgres://postgres@${POSTGRES}/test`;
const S3_BUCKET = "contract";

/**
 * Starts the real backends the contract suites run against (in Node, outside workerd). A backend
 * that cannot start fails the run here instead of letting suites skip.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardown: Array<() => Promise<void>> = [];
  try {
    const s3 = await startFauxqs({ port: 0, logger: false });
    teardown.push(() => s3.stop());
    s3.createBucket(S3_BUCKET);

    const upstash = await startUpstashBridge({ redisUrl: "redis://127.0.0.1:6379", token: randomBytes(24).toString("hex") });
    teardown.push(() => upstash.close());

    const pgBridge = await startPgWsBridge({ allowedAddress: POSTGRES });
    teardown.push(() => pgBridge.close());
    await migrate(pgBridge.wsProxy, DATABASE_URL);
    const ownDatabase = `artifactapi_workers_${randomBytes(4).toString("hex")}`;
    await migrate(pgBridge.wsProxy, DATABASE_URL, `CREATE DATABASE ${ownDatabase}`);
    const ownDatabaseUrl = `postgres://postgres@${POSTGRES}/${ownDatabase}`;
    teardown.push(() => migrate(pgBridge.wsProxy, DATABASE_URL, `DROP DATABASE IF EXISTS ${ownDatabase} WITH (FORCE)`));
    await migrate(pgBridge.wsProxy, ownDatabaseUrl);

    project.provide("backends", {
      s3Endpoint: `http://127.0.0.1:${s3.port}`,
      s3Bucket: S3_BUCKET,
      upstashUrl: upstash.url,
      upstashToken: upstash.token,
      databaseUrl: DATABASE_URL,
      ownDatabaseUrl,
      pgWsProxy: pgBridge.wsProxy,
    });
  } catch (error) {
    await closeAll(teardown);
    throw error;
  }
  return () => closeAll(teardown);
}

/** Migrations (or one statement) applied through the bridge with the production driver, which also proves the bridge works. */
async function migrate(wsProxy: string, databaseUrl: string, statement?: string): Promise<void> {
  const connection = new PgConnection({ databaseUrl, wsProxy, webSocketConstructor: WebSocket });
  try {
    await (statement ? connection.query(statement) : applyMigrations(connection));
  } finally {
    await connection.close();
  }
}

async function closeAll(teardown: Array<() => Promise<void>>): Promise<void> {
  for (const close of teardown.reverse()) await close().catch(() => {});
}
