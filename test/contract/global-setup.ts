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
    await migrate(pgBridge.wsProxy);

    project.provide("backends", {
      s3Endpoint: `http://127.0.0.1:${s3.port}`,
      s3Bucket: S3_BUCKET,
      upstashUrl: upstash.url,
      upstashToken: upstash.token,
      databaseUrl: DATABASE_URL,
      pgWsProxy: pgBridge.wsProxy,
    });
  } catch (error) {
    await closeAll(teardown);
    throw error;
  }
  return () => closeAll(teardown);
}

/** Applied through the bridge with the production driver, which also proves the bridge works. */
async function migrate(wsProxy: string): Promise<void> {
  const connection = new PgConnection({ databaseUrl: DATABASE_URL, wsProxy, webSocketConstructor: WebSocket });
  try {
    await applyMigrations(connection);
  } finally {
    await connection.close();
  }
}

async function closeAll(teardown: Array<() => Promise<void>>): Promise<void> {
  for (const close of teardown.reverse()) await close().catch(() => {});
}
