import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { formBoundary, FormReader, MalformedForm, type FormPart } from "../../functions/locals/multipart.ts";

/** A form encoded by a real multipart encoder (undici's, as a browser's), its bytes, and its boundary. */
async function encode(form: FormData): Promise<{ bytes: Uint8Array; boundary: string }> {
  const request = new Request("http://ui.test/upload", { method: "POST", body: form });
  const boundary = formBoundary(request.headers.get("content-type"));
  expect(boundary).not.toBeNull();
  return { bytes: new Uint8Array(await request.arrayBuffer()), boundary: boundary! };
}

/** The bytes as a stream of chunks of the given sizes, in turn (so boundaries fall across chunks). */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let offset = 0;
  let turn = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      const size = sizes[turn++ % sizes.length]!;
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function readAll(reader: FormReader): Promise<{ part: FormPart; bytes: Uint8Array }[]> {
  const parts: { part: FormPart; bytes: Uint8Array }[] = [];
  for (let part = await reader.next(); part; part = await reader.next()) parts.push({ part, bytes: new Uint8Array(await new Response(part.body).arrayBuffer()) });
  return parts;
}

/** The reader of twine's uploads and of the web UI's upload form, on bodies as a browser's encoder writes them. */
describe("multipart/form-data reader", () => {
  // Bytes that look like the start of a delimiter, CRLFs and dashes, inside the file.
  const file = new Uint8Array([...randomBytes(30_000), ...new TextEncoder().encode("\r\n--\r\n-\r\n--x"), ...randomBytes(1000)]);

  it("reads fields and a file as a browser encodes them, whatever the chunking", async () => {
    const form = new FormData();
    form.set("_csrf", "token-1");
    form.set("folder", "dist/v1/");
    form.set("file", new Blob([file], { type: "application/x-tar" }), 'release "final".tar');
    const { bytes, boundary } = await encode(form);
    for (const sizes of [[bytes.byteLength], [1], [3, 7, 64], [65536], [boundary.length + 3, 1]]) {
      const parts = await readAll(new FormReader(chunked(bytes, sizes), boundary));
      expect(parts.map(({ part }) => [part.name, part.filename, part.contentType])).toEqual([
        ["_csrf", null, null],
        ["folder", null, null],
        ["file", 'release "final".tar', "application/x-tar"],
      ]);
      expect(new TextDecoder().decode(parts[0]!.bytes)).toBe("token-1");
      expect(new TextDecoder().decode(parts[1]!.bytes)).toBe("dist/v1/");
      expect(Buffer.from(parts[2]!.bytes).equals(Buffer.from(file))).toBe(true);
    }
  });

  it("reads an empty file and skips a part whose body was cancelled", async () => {
    const form = new FormData();
    form.set("skipped", "x".repeat(10_000));
    form.set("file", new Blob([]), "empty.txt");
    const { bytes, boundary } = await encode(form);
    const reader = new FormReader(chunked(bytes, [100]), boundary);
    const skipped = (await reader.next())!;
    expect(skipped.name).toBe("skipped");
    await skipped.body.cancel();
    const empty = (await reader.next())!;
    expect(empty.filename).toBe("empty.txt");
    expect((await new Response(empty.body).arrayBuffer()).byteLength).toBe(0);
    expect(await reader.next()).toBeNull();
  });

  it("a body cut off in the file errors its stream instead of ending it", async () => {
    const form = new FormData();
    form.set("file", new Blob([file]), "cut.bin");
    const { bytes, boundary } = await encode(form);
    const reader = new FormReader(chunked(bytes.slice(0, 20_000), [4096]), boundary);
    const part = (await reader.next())!;
    await expect(new Response(part.body).arrayBuffer()).rejects.toThrow(/no closing boundary/);
  });

  it("refuses a field longer than asked, and a body that is not multipart", async () => {
    const form = new FormData();
    form.set("folder", "y".repeat(5000));
    const { bytes, boundary } = await encode(form);
    const reader = new FormReader(chunked(bytes, [512]), boundary);
    await expect(FormReader.text((await reader.next())!, 4096)).rejects.toThrow(MalformedForm);
    await expect(new FormReader(chunked(new TextEncoder().encode("a=b&c=d".repeat(300)), [64]), boundary).next()).rejects.toThrow(/boundary/);
    expect(formBoundary("application/x-www-form-urlencoded")).toBeNull();
    expect(formBoundary('multipart/form-data; boundary="quoted b"')).toBe("quoted b");
  });
});
