import { Buffer } from "node:buffer";
import type { Json } from "../../infra/meta/local-store.ts";
import { Base64Error, Base64Pieces } from "../../providers/json-base64.ts";
import { JsonRewriteStream, type JsonFrame } from "../../providers/json-stream.ts";
import type { TarballDigests } from "../../providers/npm-local.ts";
import type { BlobUpload, StoredBlob } from "../storage/blob-upload.ts";
import type { Stores } from "../stores.ts";
import { inflatesWhole } from "./archives.ts";
import { ArchiveError, findInTarGz } from "./tar.ts";
import { newUpload, tooLarge, uploadIncomplete, type UploadRefused } from "./upload.ts";

/**
 * `npm publish`'s body read as it streams: a JSON packument whose tarball is base64 in
 * `_attachments.<file>.data`. The document is scanned in pieces (JsonRewriteStream) and kept
 * without that string; the string is decoded as it comes, straight into the blob store (an
 * upload under `uploads/`, as generic PUTs write), hashed (sha1, sha256, sha384, sha512: what
 * `dist.shasum` and `dist.integrity` may declare) and read as a gzipped tar for its
 * package.json, all on the way. Memory: the document without its tarball, and a part of the
 * blob upload; never the tarball.
 */

/** The document without its tarball (manifest, readme…) is held whole: at most this. */
const MAX_DOCUMENT = 16 * 1024 * 1024;
const MAX_PACKAGE_JSON = 4 * 1024 * 1024;

/** What the tarball holds, as far as a publish cares: its package.json, or why it is not a package. */
export type TarballContents = { packageJson: Json } | { problem: string };

export interface ReceivedTarball {
  /** Its key in `_attachments`. */
  name: string;
  /** Complete at its upload key, not committed: the caller commits it or deletes it. */
  blob: StoredBlob;
  digests: TarballDigests;
  contents: TarballContents;
}

export type ReceivedPublish = { document: unknown; tarball: ReceivedTarball | null } | { refused: UploadRefused };

/** The body cannot be a publish (not JSON, not base64, too large): nothing is kept. */
class Refusal extends Error {
  readonly refused: UploadRefused;

  constructor(refused: UploadRefused) {
    super(refused.message);
    this.refused = refused;
  }
}

const malformed = (message: string) => new Refusal({ status: 400, code: "MALFORMED", message });

/**
 * Reads a publish document, its tarball (if it has one) into the blob store. Refused: a
 * Content-Length or a tarball over `maxTarball` bytes (413, as soon as it is known), a body that
 * is not JSON, data that is not base64, more than one attachment, a client that goes away (400).
 * A blob store that fails throws. Whatever the outcome, only a returned tarball leaves a blob.
 */
export async function receivePublish(stores: Pick<Stores, "blobs" | "meta">, request: Request, maxTarball: number): Promise<ReceivedPublish> {
  const header = request.headers.get("content-length");
  if (header !== null && !/^\d+$/.test(header)) return { refused: { status: 400, code: "BAD_CONTENT_LENGTH", message: "Content-Length must be a number of bytes" } };
  // base64 takes 4 characters for every 3 bytes.
  if (header !== null && Number(header) > Math.ceil((maxTarball * 4) / 3) + MAX_DOCUMENT) {
    await request.body?.cancel();
    return { refused: tooLarge(maxTarball) };
  }
  const reader = new PublishReader(stores, maxTarball);
  const body = request.body?.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = body ? await body.read() : { done: true, value: undefined };
      } catch (error) {
        throw new Refusal(uploadIncomplete(error));
      }
      if (chunk.done) break;
      await reader.write(chunk.value);
    }
    return await reader.end();
  } catch (error) {
    await Promise.allSettled([reader.abort(error), body?.cancel(error)]);
    if (error instanceof Refusal) return { refused: error.refused };
    throw error;
  }
}

/** `_attachments.<file>.data`: where npm puts the tarball. */
function isAttachmentData(frames: readonly JsonFrame[]): boolean {
  const [root, attachments, attachment] = frames;
  return frames.length === 3 && !root!.array && root!.key === "_attachments" && !attachments!.array && !attachment!.array && attachment!.key === "data";
}

class PublishReader {
  readonly #stores: Pick<Stores, "blobs" | "meta">;
  readonly #maxTarball: number;
  readonly #text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  readonly #scanner: JsonRewriteStream;
  /** The document as it came, with `""` in place of the tarball's data. */
  readonly #document: string[] = [];
  #documentLength = 0;
  #tarball: TarballWriter | null = null;
  readonly #base64 = new Base64Pieces();
  /** What the scanner's last write decoded of the tarball, to be written before the next. */
  #decoded: Uint8Array[] = [];

  constructor(stores: Pick<Stores, "blobs" | "meta">, maxTarball: number) {
    this.#stores = stores;
    this.#maxTarball = maxTarball;
    this.#scanner = new JsonRewriteStream({
      start: (frames, kind) => {
        if (kind !== "string" || !isAttachmentData(frames)) return false;
        if (this.#tarball) throw malformed("a publish carries one attachment, its tarball");
        this.#tarball = new TarballWriter(this.#stores, String(frames[1]!.key), this.#maxTarball);
        return "stream";
      },
      piece: (_frames, raw, last) => {
        this.#decoded.push(this.#base64.push(raw));
        if (last) this.#decoded.push(this.#base64.end());
      },
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.#scan(() => this.#scanner.write(this.#decodeText(bytes)));
    await this.#flush();
  }

  async end(): Promise<{ document: unknown; tarball: ReceivedTarball | null }> {
    this.#scan(() => this.#scanner.write(this.#decodeText()) + this.#scanner.end());
    await this.#flush();
    let document: unknown;
    try {
      document = JSON.parse(this.#document.join(""));
    } catch (error) {
      throw malformed(`the body is not JSON (${(error as Error).message})`);
    }
    return { document, tarball: this.#tarball ? await this.#tarball.finish() : null };
  }

  async abort(reason: unknown): Promise<void> {
    await this.#tarball?.abort(reason);
  }

  #decodeText(bytes?: Uint8Array): string {
    try {
      return bytes ? this.#text.decode(bytes, { stream: true }) : this.#text.decode();
    } catch {
      throw malformed("the body is not UTF-8 JSON");
    }
  }

  /** One step of the scanner; what it passes through is the document kept. */
  #scan(step: () => string): void {
    let kept: string;
    try {
      kept = step();
    } catch (error) {
      if (error instanceof Refusal) throw error;
      if (error instanceof Base64Error) throw malformed(error.message);
      throw malformed(`the body is not JSON (${(error as Error).message})`);
    }
    this.#documentLength += kept.length;
    if (this.#documentLength > MAX_DOCUMENT) throw new Refusal({ status: 413, code: "BODY_TOO_LARGE", message: `a publish document is limited to ${MAX_DOCUMENT} bytes besides its tarball` });
    if (kept !== "") this.#document.push(kept);
  }

  async #flush(): Promise<void> {
    const decoded = this.#decoded;
    this.#decoded = [];
    for (const bytes of decoded) if (bytes.byteLength > 0) await this.#tarball!.write(bytes);
  }
}

/** The tarball's bytes into the blob store, its digests and its package.json, as they come. */
class TarballWriter {
  readonly name: string;
  readonly #maxSize: number;
  readonly #upload: BlobUpload;
  /** sha256 and sha512 are the upload's; these are the other two an integrity may name. */
  readonly #hashers = { sha1: new crypto.DigestStream("SHA-1"), sha384: new crypto.DigestStream("SHA-384") };
  readonly #hashWriters = [this.#hashers.sha1.getWriter(), this.#hashers.sha384.getWriter()];
  /** Its package.json, found as the archive streams; and whether the whole archive decompresses (a cut may come after the member). */
  readonly #member = new Feed((stream) => findInTarGz(stream, (path) => /^[^/]+\/package\.json$/.test(path), MAX_PACKAGE_JSON));
  // Written to the decompressor itself: a JS stream piped into it held far more memory.
  readonly #whole = new Feed(inflatesWhole, new DecompressionStream("gzip"));
  /** The first two bytes (gzip's magic number, if it is gzip). */
  readonly #head: number[] = [];

  constructor(stores: Pick<Stores, "blobs" | "meta">, name: string, maxSize: number) {
    this.name = name;
    this.#maxSize = maxSize;
    this.#upload = newUpload(stores, "sha512");
    for (const hasher of Object.values(this.#hashers)) hasher.digest.catch(() => {});
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#upload.bytes + bytes.byteLength > this.#maxSize) throw new Refusal(tooLarge(this.#maxSize));
    if (this.#head.length < 2) this.#head.push(...bytes.subarray(0, 2 - this.#head.length));
    await Promise.all([this.#upload.write(bytes), ...this.#hashWriters.map((writer) => writer.write(bytes)), this.#member.write(bytes), this.#whole.write(bytes)]);
  }

  async finish(): Promise<ReceivedTarball> {
    await Promise.all([...this.#hashWriters.map((writer) => writer.close()), this.#member.close(), this.#whole.close()]);
    const [blob, sha1, sha384, member, damaged] = await Promise.all([
      this.#upload.finish(),
      this.#hashers.sha1.digest,
      this.#hashers.sha384.digest,
      this.#member.result.catch((error: unknown) => error),
      this.#whole.result,
    ]);
    const hex = (digest: ArrayBuffer) => Buffer.from(digest).toString("hex");
    const contents = tarballContents(member, damaged, this.#head[0] === 0x1f && this.#head[1] === 0x8b);
    return { name: this.name, blob, digests: { sha1: hex(sha1), sha256: blob.sha256, sha384: hex(sha384), sha512: blob.otherDigest! }, contents };
  }

  async abort(reason: unknown): Promise<void> {
    await Promise.allSettled([this.#upload.abort(reason), ...this.#hashWriters.map((writer) => writer.abort(reason)), this.#member.abort(reason), this.#whole.abort(reason)]);
  }
}

/**
 * A reader of the tarball as it streams (the member search, the gzip check), fed each chunk with
 * backpressure until it has its answer; a copy of the bytes (it may keep what it is given). A
 * tee() would buffer for the slower reader, and the one done early stays a branch that buffers.
 */
class Feed<T> {
  readonly result: Promise<T>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #settled = false;

  constructor(read: (stream: ReadableStream<Uint8Array>) => Promise<T>, pipe: { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> } = new TransformStream<Uint8Array, Uint8Array>()) {
    this.#writer = pipe.writable.getWriter();
    this.result = read(pipe.readable);
    const settled = () => void (this.#settled = true);
    this.result.then(settled, settled);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#settled) return;
    await Promise.race([this.#writer.write(bytes.slice()).catch(() => {}), this.result.catch(() => {})]);
  }

  async close(): Promise<void> {
    if (!this.#settled) await this.#writer.close().catch(() => {});
  }

  async abort(reason: unknown): Promise<void> {
    await Promise.allSettled([this.#writer.abort(reason), this.result]);
  }
}

/** What the member search and the gzip check found, as the publish's answer. */
function tarballContents(member: unknown, damaged: string | null, startsAsGzip: boolean): TarballContents {
  if (member instanceof Error && !(member instanceof ArchiveError)) throw member;
  // Gzip that is cut short or damaged: the member search may have failed on the damage too.
  if (damaged && startsAsGzip) return { problem: `the tarball is not whole: ${damaged}` };
  if (member instanceof ArchiveError) return { problem: `the tarball is not a gzipped tar archive (${member.message})` };
  if (!member) return { problem: "the tarball has no package.json at its top" };
  const { name, bytes } = member as { name: string; bytes: Uint8Array };
  try {
    const packageJson: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof packageJson === "object" && packageJson !== null && !Array.isArray(packageJson)) return { packageJson: packageJson as Json };
  } catch {
    // answered below
  }
  return { problem: `the tarball's ${name} is not a JSON object` };
}
