import type { BlobStore } from "../../infra/blob/types.ts";
import type { EdgeBlobCache } from "./edge-cache.ts";
import { hotBlob, isSmallBlob, keepHot } from "./hot-blobs.ts";
import type { IndexEntry } from "./index-entry.ts";
import { representationFields, type HeaderOptions } from "./response-headers.ts";

/**
 * Answers from a stored blob: HEAD, conditional requests (304), single byte ranges (206).
 * Returns null when the blob has vanished (evicted or promoted meanwhile) or the blob store
 * cannot give it, so the caller can treat the request as a miss.
 */
export async function serveEntry(blobs: BlobStore, entry: IndexEntry, request: Request, options: HeaderOptions, edge?: EdgeBlobCache): Promise<Response | null> {
  const headers = entryHeaders(entry, options);
  if (notModified(request, entry)) return new Response(null, { status: 304, headers });

  const range = parseRange(request.headers.get("range"), entry.size);
  if (range === "unsatisfiable") {
    headers.set("content-range", `bytes */${entry.size}`);
    headers.delete("content-length");
    return new Response(null, { status: 416, headers });
  }
  if (range) {
    headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${entry.size}`);
    headers.set("content-length", String(range.length));
  }
  const status = range ? 206 : 200;
  try {
    if (isSmallBlob(entry.size)) {
      const bytes = hotBlob(entry.sha256) ?? (await readSmallBlob(blobs, entry));
      if (!bytes) return null;
      const body = request.method === "HEAD" ? null : range ? bytes.subarray(range.offset, range.offset + range.length) : bytes;
      return new Response(body, { status, headers, encodeBody: "manual" });
    }
    if (request.method === "HEAD") return (await blobs.head(entry.blobKey)) ? new Response(null, { status, headers }) : null;
    const kept = range ? null : await edge?.body(entry);
    if (kept) return new Response(kept, { status, headers, encodeBody: "manual" });
    const blob = await blobs.get(entry.blobKey, range ?? undefined);
    return blob?.body ? new Response(blob.body, { status, headers, encodeBody: "manual" }) : null;
  } catch (error) {
    // A failing blob store is a miss: the upstream is asked again (and the copy streamed uncached if storing fails too).
    console.error(`blob store read of ${entry.blobKey} failed:`, (error as Error).message);
    return null;
  }
}

/** Reads a small blob whole and keeps it in the isolate for the next hits. */
async function readSmallBlob(blobs: BlobStore, entry: IndexEntry): Promise<Uint8Array | null> {
  const blob = await blobs.get(entry.blobKey);
  if (!blob?.body) return null;
  const bytes = new Uint8Array(await new Response(blob.body).arrayBuffer());
  if (bytes.byteLength !== entry.size) return null;
  keepHot(entry.sha256, bytes);
  return bytes;
}

export function entryHeaders(entry: IndexEntry, options: HeaderOptions): Headers {
  return new Headers(entryFields(entry, options));
}

/** entryHeaders as a plain object (representationFields). */
export function entryFields(entry: IndexEntry, options: HeaderOptions): Record<string, string> {
  const fields = representationFields(
    { contentType: entry.contentType, size: entry.size, sha256: entry.sha256, lastModified: lastModifiedOf(entry), headers: entry.headers },
    options,
  );
  // Entries stored before bodies were kept decoded replay their encoding.
  if (entry.contentEncoding) fields["content-encoding"] = entry.contentEncoding;
  return fields;
}

function lastModifiedOf(entry: IndexEntry): string {
  return entry.lastModified ?? new Date(entry.fetchedAt).toUTCString();
}

function notModified(request: Request, entry: IndexEntry): boolean {
  const ifNoneMatch = request.headers.get("if-none-match");
  if (ifNoneMatch !== null) {
    return ifNoneMatch.split(",").some((tag) => {
      const t = tag.trim().replace(/^W\//, "");
      return t === "*" || t === `"${entry.sha256}"`;
    });
  }
  const ifModifiedSince = request.headers.get("if-modified-since");
  if (ifModifiedSince === null) return false;
  const since = Date.parse(ifModifiedSince);
  const modified = Date.parse(lastModifiedOf(entry));
  return !Number.isNaN(since) && modified <= since;
}

/** One range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); several ranges are answered with the whole body. */
export function parseRange(header: string | null, size: number): { offset: number; length: number } | "unsatisfiable" | null {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match) return null;
  const [, first, last] = match;
  if (first === "" && last === "") return null;
  if (first === "") {
    const suffix = Math.min(Number(last), size);
    return suffix === 0 ? "unsatisfiable" : { offset: size - suffix, length: suffix };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return null;
  return { offset: start, length: end - start + 1 };
}
