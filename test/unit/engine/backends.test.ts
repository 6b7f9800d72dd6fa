import { expect, it } from "vitest";
import { chooseBackends } from "../../../infra/local/backends.ts";

it("runs on the embedded default when nothing is configured", () => {
  expect(chooseBackends({})).toEqual({ databaseUrl: null, state: { kind: "postgres" }, blobs: { kind: "r2" } });
});

it("takes the ecosystem's variable names", () => {
  const choice = chooseBackends({
    DATABASE_URL: "postgres://u:p@db.example.org/app",
    UPSTASH_REDIS_REST_URL: "https://eu1.example.upstash.io",
    UPSTASH_REDIS_REST_TOKEN: "t",
    REDIS_URL: "redis://ignored-when-upstash-is-set:6379",
    S3_ENDPOINT: "https://s3.example.org",
    S3_BUCKET: "blobs",
    S3_ACCESS_KEY_ID: "a",
    S3_SECRET_ACCESS_KEY: "s",
    S3_REGION: "eu-west-1",
  });
  expect(choice).toEqual({
    databaseUrl: "postgres://u:p@db.example.org/app",
    state: { kind: "upstash", url: "https://eu1.example.upstash.io", token: "t" },
    blobs: { kind: "s3", endpoint: "https://s3.example.org", bucket: "blobs", accessKeyId: "a", secretAccessKey: "s", region: "eu-west-1" },
  });
});

it("takes the earlier versions' names too (DB*, REDIS_URL, MINIO_*)", () => {
  const choice = chooseBackends({
    DBHOST: "db",
    DBPORT: "5433",
    DBUSER: "artifacts",
    DBPASS: "p@ss word",
    DBNAME: "artifacts",
    REDIS_URL: "redis://cache:6379",
    MINIO_ENDPOINT: "minio:9000",
    MINIO_SECURE: "false",
    MINIO_ACCESS_KEY: "minioadmin",
    MINIO_SECRET_KEY: "minioadmin",
    MINIO_BUCKET: "artifacts",
  });
  expect(choice.databaseUrl).toBe("postgres://artifacts:p%40ss%20word@db:5433/artifacts");
  expect(choice.state).toEqual({ kind: "redis", url: "redis://cache:6379" });
  expect(choice.blobs).toMatchObject({ kind: "s3", endpoint: "http://minio:9000", bucket: "artifacts", accessKeyId: "minioadmin" });
});
