import { env } from "cloudflare:workers";
import { S3BlobStore } from "../../infra/blob/s3.ts";
import { blobStoreContract } from "./blob-store.contract.ts";

blobStoreContract("s3 (fauxqs)", async () => {
  const { s3Endpoint, s3Bucket } = env.BACKENDS;
  return new S3BlobStore({
    endpoint: s3Endpoint,
    bucket: s3Bucket,
    accessKeyId: "test",
    secretAccessKey: "test",
    region: "us-east-1",
    forcePathStyle: true,
  });
});
