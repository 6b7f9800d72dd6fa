/**
 * Small, often-requested blobs kept in the isolate's memory, by sha256. Content addressing
 * makes this safe: a sha256 names one byte sequence forever. Whether a request may have them is
 * still decided by its index entry (hot-entries.ts) and access check; only the blob read is saved.
 */
const MAX_BLOB_BYTES = 256 * 1024;
/** Well inside a Worker isolate's 128 MB. */
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

/** Insertion order is recency order: a hit moves its blob to the end. */
const blobs = new Map<string, Uint8Array>();
let totalBytes = 0;

export function isSmallBlob(size: number): boolean {
  return size <= MAX_BLOB_BYTES;
}

export function hotBlob(sha256: string): Uint8Array | undefined {
  const bytes = blobs.get(sha256);
  if (bytes) {
    blobs.delete(sha256);
    blobs.set(sha256, bytes);
  }
  return bytes;
}

export function keepHot(sha256: string, bytes: Uint8Array): void {
  if (!isSmallBlob(bytes.byteLength) || blobs.has(sha256)) return;
  blobs.set(sha256, bytes);
  totalBytes += bytes.byteLength;
  for (const [oldest, old] of blobs) {
    if (totalBytes <= MAX_TOTAL_BYTES) break;
    blobs.delete(oldest);
    totalBytes -= old.byteLength;
  }
}
