import { z } from "zod";
import { DEFAULT_BACKEND_TIMEOUT_SECONDS, DEFAULT_S3_REQUEST_TIMEOUT_SECONDS } from "../infra/backend-timeout.ts";

/**
 * The Worker's bindings and variables. R2 is the default blob store; S3_* switches to any S3
 * API. UPSTASH_* selects Upstash for state; without it state lives in Postgres tables.
 * Remotes' `auth.*_env` names are read from here too (Worker secrets).
 */
export interface Env {
  BLOBS?: R2Bucket;
  /** Unrestricted outbound for remotes with allow_private_network, where the global fetch is guarded (npm start, self-hosted workerd). */
  PRIVATE_NETWORK?: Fetcher;
  [name: string]: unknown;
}

const optional = z.string().min(1).optional();

export const backendEnvSchema = z.object({
  DATABASE_URL: z.string().min(1, "DATABASE_URL is required (Neon or Postgres connection string)"),
  /** host:port/path of the project's WebSocket→TCP bridge, for a plain Postgres (not Neon). */
  PG_WS_PROXY: optional,
  UPSTASH_REDIS_REST_URL: optional,
  UPSTASH_REDIS_REST_TOKEN: optional,
  S3_ENDPOINT: optional,
  S3_BUCKET: optional,
  S3_ACCESS_KEY_ID: optional,
  S3_SECRET_ACCESS_KEY: optional,
  S3_REGION: z.string().min(1).default("auto"),
  /** Seconds one call to Postgres or Upstash may take before that backend counts as unavailable. */
  BACKEND_TIMEOUT_SECONDS: z.coerce.number().positive().default(DEFAULT_BACKEND_TIMEOUT_SECONDS),
  /** Seconds one S3 request (an upload part included) may take to answer. */
  S3_REQUEST_TIMEOUT_SECONDS: z.coerce.number().positive().default(DEFAULT_S3_REQUEST_TIMEOUT_SECONDS),
});

export type BackendEnv = z.output<typeof backendEnvSchema>;
