/**
 * The blob floor for bench/run.ts: a handler that does nothing but stream one stored object
 * through the same blob adapter the proxy reads with (R2 binding BLOBS, or S3 when S3_ENDPOINT is
 * set). `PUT /<key>` stores the request body (Content-Length required), `GET /<key>` streams it.
 */
import { R2BlobStore } from "../infra/blob/r2.ts";
import { S3BlobStore } from "../infra/blob/s3.ts";
import type { BlobStore } from "../infra/blob/types.ts";
// wrangler.toml binds FILLS to this class: every entrypoint built with it must export it.
export { FillCoordinator } from "../functions/fills/coordinator.ts";

interface FloorEnv {
  BLOBS?: R2Bucket;
  S3_ENDPOINT?: string;
  S3_BUCKET?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

let s3: S3BlobStore | null = null;

function store(env: FloorEnv): BlobStore {
  if (!env.S3_ENDPOINT) return new R2BlobStore(env.BLOBS!);
  return (s3 ??= new S3BlobStore({
    endpoint: env.S3_ENDPOINT,
    bucket: env.S3_BUCKET!,
    accessKeyId: env.S3_ACCESS_KEY_ID!,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY!,
    region: "us-east-1",
    forcePathStyle: true,
  }));
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const key = new URL(request.url).pathname.slice(1);
    if (request.method === "PUT") {
      // Stored as the proxy stores a fill: in parts under a temporary key, then copied to where it
      // is read from (on R2 that copy is one new object; a multipart object reads far slower there).
      const upload = `uploads/${crypto.randomUUID()}`;
      await putInParts(store(env), upload, request.body!);
      await store(env).copy(upload, key);
      await store(env).delete(upload);
      return new Response(null, { status: 204 });
    }
    const object = await store(env).get(key);
    if (!object) return new Response("no such object", { status: 404 });
    return new Response(object.body, { headers: { "content-length": String(object.size) } });
  },
};

const PART = 8 << 20;

/** In 8 MiB parts, as the proxy's fill stores large bodies (a single 100 MiB PutObject fails on fauxqs). */
async function putInParts(blobs: BlobStore, key: string, body: ReadableStream<Uint8Array>): Promise<void> {
  const upload = await blobs.createMultipartUpload(key);
  let part = new Uint8Array(PART);
  let filled = 0;
  let number = 0;
  for await (const chunk of body) {
    for (let offset = 0; offset < chunk.length; ) {
      const taken = Math.min(PART - filled, chunk.length - offset);
      part.set(chunk.subarray(offset, offset + taken), filled);
      filled += taken;
      offset += taken;
      if (filled === PART) {
        await upload.uploadPart(++number, part);
        part = new Uint8Array(PART);
        filled = 0;
      }
    }
  }
  if (filled > 0 || number === 0) await upload.uploadPart(++number, part.subarray(0, filled));
  await upload.complete();
}
