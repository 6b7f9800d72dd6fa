import type { BlobStore } from "../infra/blob/types.ts";
import { R2BlobStore } from "../infra/blob/r2.ts";
import { S3BlobStore } from "../infra/blob/s3.ts";
import type { LocalStore } from "../infra/meta/local-store.ts";
import { PostgresMetadataStore } from "../infra/meta/postgres.ts";
import { PostgresLocalStore } from "../infra/meta/postgres-locals.ts";
import type { MetadataStore } from "../infra/meta/types.ts";
import { PgConnection } from "../infra/pg/connection.ts";
import { PostgresStateStore } from "../infra/state/postgres.ts";
import type { StateStore } from "../infra/state/types.ts";
import { UpstashStateStore } from "../infra/state/upstash.ts";
import { backendEnvSchema, type BackendEnv, type Env } from "./env.ts";

/** The three stores a request works with. The only place that knows which adapters exist. */
export interface Stores {
  blobs: BlobStore;
  state: StateStore;
  meta: MetadataStore;
  /** The metadata store's rows for local repositories (same Postgres, same connection). */
  locals: LocalStore;
  /** Whether close() has anything to do: a request that opened no connection has nothing to close. */
  readonly opened: boolean;
  close(): Promise<void>;
}

/**
 * What an isolate keeps for its whole life, per bindings object: the validated bindings, and the
 * blob and state clients, which are HTTP clients with no connection or request of their own
 * (building the S3 client per request cost more than the rest of a hot hit). Postgres stays per
 * request: its WebSocket belongs to the request that opened it.
 */
interface IsolateClients {
  source: Env;
  backends: BackendEnv;
  blobs?: BlobStore;
  upstash?: UpstashStateStore;
}

let isolate: IsolateClients | null = null;

function isolateClients(env: Env): IsolateClients {
  if (isolate?.source !== env) isolate = { source: env, backends: backendEnvSchema.parse(env) };
  return isolate;
}

export interface StoreOptions {
  /** Outside workerd (the local launcher in Node): the `ws` package, for the Postgres driver. */
  webSocketConstructor?: unknown;
}

/**
 * The stores for one request (or one launcher step in Node). The blob store is made when first
 * used, so code that needs only state and metadata (the launcher applying the remotes file)
 * runs where no R2 binding exists; it and the Upstash client are then kept for the isolate.
 */
export function createStores(env: Env, options: StoreOptions = {}): Stores {
  const clients = isolateClients(env);
  const config = clients.backends;
  const timeoutMs = config.BACKEND_TIMEOUT_SECONDS * 1000;
  const pg = new PgConnection({ databaseUrl: config.DATABASE_URL, wsProxy: config.PG_WS_PROXY, webSocketConstructor: options.webSocketConstructor, timeoutMs });
  const blobStore = (): BlobStore =>
    (clients.blobs ??= config.S3_ENDPOINT
      ? new S3BlobStore({
          endpoint: config.S3_ENDPOINT,
          bucket: config.S3_BUCKET ?? "artifactapi-blobs",
          accessKeyId: config.S3_ACCESS_KEY_ID ?? "",
          secretAccessKey: config.S3_SECRET_ACCESS_KEY ?? "",
          region: config.S3_REGION,
          forcePathStyle: true,
          timeoutMs: config.S3_REQUEST_TIMEOUT_SECONDS * 1000,
        })
      : new R2BlobStore(requireR2(env)));
  const state =
    config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN
      ? (clients.upstash ??= new UpstashStateStore({ url: config.UPSTASH_REDIS_REST_URL, token: config.UPSTASH_REDIS_REST_TOKEN, timeoutMs }))
      : new PostgresStateStore(pg);
  return {
    get blobs() {
      return blobStore();
    },
    state,
    meta: new PostgresMetadataStore(pg),
    locals: new PostgresLocalStore(pg),
    get opened() {
      return pg.opened;
    },
    async close() {
      await Promise.allSettled([state.close(), pg.close()]);
    },
  };
}

function requireR2(env: Env): R2Bucket {
  if (!env.BLOBS) throw new Error("no blob store: bind an R2 bucket as BLOBS or set S3_ENDPOINT");
  return env.BLOBS;
}
