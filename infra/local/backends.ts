/**
 * Which backends the local stack uses, from the environment: the ecosystem's names first
 * (DATABASE_URL, UPSTASH_*, S3_*), then the earlier versions' names (DB*, REDIS_URL, MINIO_*),
 * and the embedded default (PGlite, Postgres-backed state, local R2) for whatever is unset.
 */
export interface BackendChoice {
  /** null = embedded PGlite. */
  databaseUrl: string | null;
  state: { kind: "upstash"; url: string; token: string } | { kind: "redis"; url: string } | { kind: "postgres" };
  blobs: { kind: "s3"; endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string; region: string } | { kind: "r2" };
}

type EnvVars = Record<string, string | undefined>;

export function chooseBackends(env: EnvVars): BackendChoice {
  return { databaseUrl: databaseUrl(env), state: state(env), blobs: blobs(env) };
}

function databaseUrl(env: EnvVars): string | null {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  if (!env.DBHOST) return null;
  const user = encodeURIComponent(env.DBUSER ?? "artifacts");
  const password = env.DBPASS ? `:${encodeURIComponent(env.DBPASS)}` : "";
  return `postgres://${user}${password}@${env.DBHOST}:${env.DBPORT ?? "5432"}/${env.DBNAME ?? "artifacts"}`;
}

function state(env: EnvVars): BackendChoice["state"] {
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) {
    return { kind: "upstash", url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN };
  }
  if (env.REDIS_URL) return { kind: "redis", url: env.REDIS_URL };
  return { kind: "postgres" };
}

function blobs(env: EnvVars): BackendChoice["blobs"] {
  if (env.S3_ENDPOINT) {
    return {
      kind: "s3",
      endpoint: env.S3_ENDPOINT,
      bucket: env.S3_BUCKET ?? "artifactapi-blobs",
      accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
      secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
      region: env.S3_REGION ?? "us-east-1",
    };
  }
  if (env.MINIO_ENDPOINT) {
    const scheme = env.MINIO_SECURE === "true" ? "https" : "http";
    const endpoint = /^https?:\/\//.test(env.MINIO_ENDPOINT) ? env.MINIO_ENDPOINT : `${scheme}://${env.MINIO_ENDPOINT}`;
    return {
      kind: "s3",
      endpoint,
      bucket: env.MINIO_BUCKET ?? "artifacts",
      accessKeyId: env.MINIO_ACCESS_KEY ?? "",
      secretAccessKey: env.MINIO_SECRET_KEY ?? "",
      region: env.MINIO_REGION ?? "us-east-1",
    };
  }
  return { kind: "r2" };
}
