import type { BlobStore } from "../../infra/blob/types.ts";

/**
 * Checks on package archives as they are published, beside tar.ts's member lookup: that a
 * gzip stream is whole, and one member of a zip (Python wheels) read from the blob store by
 * ranges through its central directory. Members are small text files (METADATA); anything
 * bigger than `maxMemberSize` is refused.
 */

/** The archive is not one: a zip without its directory, a member that does not inflate. */
export class MalformedArchive extends Error {}

const decoder = new TextDecoder();
const MAX_MEMBER_SIZE = 4 * 1024 * 1024;

/**
 * Whether a gzip stream decompresses to its end: finding one member of a tar (tar.ts) stops
 * reading there, and an archive cut after it would still pass.
 */
export async function gunzipsWhole(gzipped: ReadableStream<Uint8Array>): Promise<string | null> {
  return inflatesWhole(gzipped.pipeThrough(new DecompressionStream("gzip")));
}

/** gunzipsWhole on a DecompressionStream's output (one the caller writes to itself). */
export async function inflatesWhole(inflated: ReadableStream<Uint8Array>): Promise<string | null> {
  const reader = inflated.getReader();
  try {
    while (!(await reader.read()).done);
    return null;
  } catch (error) {
    return `the gzip data is damaged or cut short (${(error as Error).message})`;
  }
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
/** The end-of-central-directory record is within the last 22 + 65535 (comment) bytes. */
const TAIL = 22 + 0xffff;

async function readRange(blobs: BlobStore, key: string, offset: number, length: number): Promise<Uint8Array> {
  const object = await blobs.get(key, { offset, length });
  if (!object?.body) throw new Error(`the upload ${key} vanished while it was being read`);
  const bytes = new Uint8Array(await new Response(object.body).arrayBuffer());
  if (bytes.byteLength !== length) throw new MalformedArchive("the zip archive is shorter than its directory says");
  return bytes;
}

/**
 * The first member of a zip archive (stored in the blob store at `key`, `size` bytes) whose
 * path `wanted` accepts, read through its central directory; null when none. A zip without a
 * readable directory, or a member that does not inflate to its declared size, is malformed.
 */
export async function readZipMember(blobs: BlobStore, key: string, size: number, wanted: (path: string) => boolean, maxMemberSize = MAX_MEMBER_SIZE): Promise<{ path: string; data: Uint8Array } | null> {
  if (size < 22) throw new MalformedArchive("too short to be a zip archive");
  const tailStart = Math.max(0, size - TAIL);
  const tail = await readRange(blobs, key, tailStart, size - tailStart);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) throw new MalformedArchive("not a zip archive (no end of central directory)");
  const entries = view.getUint16(eocd + 10, true);
  const directorySize = view.getUint32(eocd + 12, true);
  const directoryOffset = view.getUint32(eocd + 16, true);
  if (directoryOffset === 0xffffffff) throw new MalformedArchive("zip64 archives are not supported");
  if (directoryOffset + directorySize > size) throw new MalformedArchive("the zip directory lies outside the archive");
  const directory = await readRange(blobs, key, directoryOffset, directorySize);
  const dir = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
  for (let at = 0, i = 0; i < entries; i++) {
    if (at + 46 > directory.byteLength || dir.getUint32(at, true) !== CENTRAL_SIGNATURE) throw new MalformedArchive("the zip directory is damaged");
    const method = dir.getUint16(at + 10, true);
    const compressed = dir.getUint32(at + 20, true);
    const uncompressed = dir.getUint32(at + 24, true);
    const nameLength = dir.getUint16(at + 28, true);
    const extraLength = dir.getUint16(at + 30, true);
    const commentLength = dir.getUint16(at + 32, true);
    const localOffset = dir.getUint32(at + 42, true);
    const path = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    if (!wanted(path)) continue;
    if (uncompressed > maxMemberSize) throw new MalformedArchive(`${path} is larger than ${maxMemberSize} bytes`);
    if (localOffset + 30 > size) throw new MalformedArchive(`${path} lies outside the archive`);
    const local = await readRange(blobs, key, localOffset, 30);
    const localView = new DataView(local.buffer, local.byteOffset, local.byteLength);
    if (localView.getUint32(0, true) !== LOCAL_SIGNATURE) throw new MalformedArchive(`${path}: its local header is damaged`);
    const dataOffset = localOffset + 30 + localView.getUint16(26, true) + localView.getUint16(28, true);
    if (dataOffset + compressed > size) throw new MalformedArchive(`${path} lies outside the archive`);
    const raw = compressed === 0 ? new Uint8Array(0) : await readRange(blobs, key, dataOffset, compressed);
    const data = await inflate(raw, method, path);
    if (data.byteLength !== uncompressed) throw new MalformedArchive(`${path} inflates to ${data.byteLength} bytes, its directory says ${uncompressed}`);
    return { path, data };
  }
  return null;
}

async function inflate(raw: Uint8Array, method: number, path: string): Promise<Uint8Array> {
  if (method === 0) return raw;
  if (method !== 8) throw new MalformedArchive(`${path} uses zip compression method ${method}; wheels use stored or deflate`);
  try {
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (error) {
    throw new MalformedArchive(`${path} does not inflate (${(error as Error).message})`);
  }
}
