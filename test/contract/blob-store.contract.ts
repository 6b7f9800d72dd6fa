import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_PART_SIZE, type BlobStore } from "../../infra/blob/types.ts";

/**
 * One suite every blob-store adapter must pass (as Athens runs one storage compliance suite
 * against every backend). Keys are unique per run so parallel and repeated runs never collide.
 */
export function blobStoreContract(name: string, make: () => Promise<BlobStore>): void {
  describe(`BlobStore contract: ${name}`, () => {
    const prefix = `contract/${crypto.randomUUID()}`;
    const body = randomBytes(1024 * 1024 + 17);
    let store: BlobStore;

    beforeAll(async () => {
      store = await make();
      await store.put(`${prefix}/body`, streamOf(body), body.length);
    });

    afterAll(async () => {
      for (const key of ["body", "copy", "copy-of-missing", "multi", "short", "long", "aborted"]) await store.delete(`${prefix}/${key}`);
    });

    it("returns the stored bytes unchanged with the object size", async () => {
      const object = await store.get(`${prefix}/body`);
      expect(object?.size).toBe(body.length);
      expect(await digest(await readAll(object?.body))).toBe(await digest(body));
    });

    it("reads a range inside the object, at its start and through its end", async () => {
      for (const range of [
        { offset: 1000, length: 4096 },
        { offset: 0, length: 1 },
        { offset: body.length - 777, length: 777 },
      ]) {
        const object = await store.get(`${prefix}/body`, range);
        expect(object?.size, "size is the whole object's").toBe(body.length);
        expect(hex(await readAll(object?.body))).toBe(hex(body.subarray(range.offset, range.offset + range.length)));
      }
    });

    it("heads the size without a body; missing keys are null", async () => {
      expect(await store.head(`${prefix}/body`)).toEqual({ size: body.length });
      expect(await store.head(`${prefix}/missing`)).toBeNull();
      expect(await store.get(`${prefix}/missing`)).toBeNull();
      expect(await store.get(`${prefix}/missing`, { offset: 0, length: 10 })).toBeNull();
    });

    it("rejects a stream shorter than declared and stores nothing", async () => {
      await expect(store.put(`${prefix}/short`, streamOf(body.subarray(0, 100_000)), 200_000)).rejects.toThrow();
      expect(await store.head(`${prefix}/short`)).toBeNull();
      expect(await store.get(`${prefix}/short`)).toBeNull();
    });

    it("rejects a stream longer than declared and stores nothing", async () => {
      await expect(store.put(`${prefix}/long`, streamOf(body.subarray(0, 200_000)), 100_000)).rejects.toThrow();
      expect(await store.head(`${prefix}/long`)).toBeNull();
    });

    it("assembles a multipart upload of two full parts and a tail", async () => {
      const parts = [randomBytes(MIN_PART_SIZE), randomBytes(MIN_PART_SIZE), randomBytes(12_345)];
      const upload = await store.createMultipartUpload(`${prefix}/multi`);
      // Out of order on purpose: the adapter must order parts by number on completion.
      await Promise.all(parts.map((bytes, index) => upload.uploadPart(index + 1, bytes)).reverse());
      await upload.complete();

      const whole = concat(parts);
      expect(await store.head(`${prefix}/multi`)).toEqual({ size: whole.length });
      const object = await store.get(`${prefix}/multi`);
      expect(await digest(await readAll(object?.body))).toBe(await digest(whole));
      const across = { offset: MIN_PART_SIZE - 10, length: 20 };
      const ranged = await store.get(`${prefix}/multi`, across);
      expect(hex(await readAll(ranged?.body))).toBe(hex(whole.subarray(across.offset, across.offset + across.length)));
    });

    it("leaves nothing behind when a multipart upload is aborted", async () => {
      const upload = await store.createMultipartUpload(`${prefix}/aborted`);
      await upload.uploadPart(1, randomBytes(MIN_PART_SIZE));
      await upload.abort();
      expect(await store.head(`${prefix}/aborted`)).toBeNull();
    });

    it("aborts an upload by its id, as a sweep does after its writer died", async () => {
      const upload = await store.createMultipartUpload(`${prefix}/orphan`);
      await upload.uploadPart(1, randomBytes(MIN_PART_SIZE));
      expect(upload.uploadId).toBeTruthy();
      await store.abortMultipartUpload(`${prefix}/orphan`, upload.uploadId);
      await expect(upload.complete()).rejects.toThrow();
      expect(await store.head(`${prefix}/orphan`)).toBeNull();
      await store.abortMultipartUpload(`${prefix}/orphan`, upload.uploadId);
    });

    it("lists objects under a prefix in key order, a page at a time", async () => {
      const keys = ["list/a", "list/b", "list/c/d", "listed-elsewhere"].map((key) => `${prefix}/${key}`);
      for (const key of keys) await store.put(key, streamOf(body.subarray(0, 10)), 10);
      const first = await store.list(`${prefix}/list/`, { limit: 2 });
      expect(first.objects.map((object) => object.key)).toEqual(keys.slice(0, 2));
      expect(first.objects[0]!.size).toBe(10);
      expect(first.objects[0]!.uploaded.getTime()).toBeGreaterThan(Date.now() - 600_000);
      expect(first.cursor).not.toBeNull();
      const second = await store.list(`${prefix}/list/`, { limit: 2, cursor: first.cursor! });
      expect(second.objects.map((object) => object.key)).toEqual(keys.slice(2, 3));
      expect(second.cursor).toBeNull();
      for (const key of keys) await store.delete(key);
      expect((await store.list(`${prefix}/list/`)).objects).toEqual([]);
    });

    it("copies an object", async () => {
      await store.copy(`${prefix}/body`, `${prefix}/copy`);
      const object = await store.get(`${prefix}/copy`);
      expect(object?.size).toBe(body.length);
      expect(await digest(await readAll(object?.body))).toBe(await digest(body));
      await expect(store.copy(`${prefix}/missing`, `${prefix}/copy-of-missing`)).rejects.toThrow();
    });

    it("deletes an object; deleting a missing key is fine", async () => {
      await store.put(`${prefix}/gone`, streamOf(body.subarray(0, 10)), 10);
      await store.delete(`${prefix}/gone`);
      expect(await store.head(`${prefix}/gone`)).toBeNull();
      await store.delete(`${prefix}/gone`);
    });

    it("answers ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < size; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
}

/** A stream in 64 KiB chunks, as an upstream body arrives. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 65_536));
      offset += 65_536;
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array> | null | undefined): Promise<Uint8Array> {
  if (!stream) throw new Error("no body");
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function digest(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
