/**
 * The one builder of the headers a client sees for an artifact — on a hit, on a miss while the
 * upstream streams in, and for HEAD — so the three can never disagree.
 */
export interface Representation {
  contentType: string;
  /** Bytes in the body; null while unknown (a chunked upstream on a miss). */
  size: number | null;
  /** Known once stored: the ETag. */
  sha256?: string;
  lastModified?: string;
  /** Kept from the upstream and replayed (FetchPlan.replayHeaders, rewritten link headers). */
  headers?: Record<string, string>;
}

export interface HeaderOptions {
  source: "cache" | "remote" | "local";
  /** The Content-Disposition value, decided once per request (see contentDisposition). */
  disposition?: string;
  /** Set when an expired copy is served because the upstream failed; with its age. */
  stale?: { reason: string; fetchedAt: number };
  /** Added to every answer for the request (FetchPlan.responseHeaders). */
  extra?: Record<string, string>;
}

export function representationHeaders(representation: Representation, options: HeaderOptions): Headers {
  return new Headers(representationFields(representation, options));
}

/**
 * The same headers as a plain object (lower-case names), which a Response takes as its headers
 * in one step: each Headers.set is a call into the runtime.
 */
export function representationFields(representation: Representation, options: HeaderOptions): Record<string, string> {
  const fields: Record<string, string> = { "content-type": representation.contentType, "accept-ranges": "bytes", "x-artifact-source": options.source };
  if (representation.size !== null) fields["content-length"] = String(representation.size);
  if (representation.sha256) fields.etag = `"${representation.sha256}"`;
  if (representation.lastModified) fields["last-modified"] = representation.lastModified;
  for (const [name, value] of Object.entries(representation.headers ?? {})) fields[name.toLowerCase()] = value;
  if (options.disposition) fields["content-disposition"] = options.disposition;
  if (options.stale) {
    fields.age = String(Math.max(0, Math.floor((Date.now() - options.stale.fetchedAt) / 1000)));
    fields.warning = '110 - "Response is Stale", 111 - "Revalidation Failed"';
    fields["x-artifact-stale-reason"] = options.stale.reason;
  }
  for (const [name, value] of Object.entries(options.extra ?? {})) fields[name.toLowerCase()] = value;
  return fields;
}

/** `attachment; filename="…"` (or inline), with an RFC 5987 name for non-ASCII file names. */
export function contentDisposition(kind: "attachment" | "inline", filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** The disposition a path gets: `kind` (default attachment) named after its last segment; none for "none" or a folder. */
export function dispositionFor(path: string, kind: "attachment" | "inline" | "none" = "attachment"): string | undefined {
  const filename = path.slice(path.lastIndexOf("/") + 1);
  return kind === "none" || filename === "" ? undefined : contentDisposition(kind, filename);
}
