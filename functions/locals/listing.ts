import { z } from "zod";
import type { FolderEntry } from "../../infra/meta/local-store.ts";
import { jsonError } from "../errors.ts";
import { decodeCursor, encodeCursor } from "../routes/management/cursor.ts";
import type { LocalRequest } from "./local-type.ts";
import { pathDenied } from "./path-rules.ts";

const listingQuery = z.object({
  cursor: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A page ends at a name: the cursor carries it (keyset pagination, stable under uploads). */
const cursorSchema = z.tuple([z.string()]);

/**
 * What is directly in a folder of a local (`folder` is "" or ends in "/"): JSON by default, an
 * HTML page for a browser (by Accept), a page at a time (`?limit=`, `?cursor=` from
 * `next_cursor`). Files the local's rules deny are left out. A folder with nothing in it does not
 * exist (404), except the root.
 */
export async function folderListing(ctx: LocalRequest, folder: string): Promise<Response> {
  const url = new URL(ctx.request.url);
  const query = listingQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) return jsonError(400, "INVALID_QUERY", query.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
  const cursor = query.data.cursor === undefined ? undefined : decodeCursor(query.data.cursor, cursorSchema);
  if (cursor === null) return jsonError(400, "BAD_CURSOR", "the cursor is not one this listing returned");

  const after = cursor?.[0];
  const rows = await ctx.stores.locals.listLocalFolder(ctx.local.name, folder, { after, limit: query.data.limit + 1 });
  if (rows.length === 0 && folder !== "" && after === undefined) return jsonError(404, "NOT_FOUND", `${ctx.local.name}: no folder '${folder}'`);
  const page = rows.slice(0, query.data.limit);
  const next = rows.length > query.data.limit ? encodeCursor([page[page.length - 1]!.name]) : null;
  const entries = page.filter((entry) => entry.kind === "folder" || pathDenied(ctx.local, entry.file.path) === null);
  const folderUrl = `${ctx.baseUrl}/${encodePath(folder)}`;

  const headers = { vary: "Accept", "cache-control": "no-cache" };
  if (prefersHtml(ctx.request.headers.get("accept"))) {
    const html = htmlPage(ctx.local.name, folder, entries, next);
    return new Response(ctx.request.method === "HEAD" ? null : html, { headers: { ...headers, "content-type": "text/html; charset=utf-8" } });
  }
  const body = {
    local: ctx.local.name,
    folder,
    entries: entries.map((entry) => describe(entry, folder, folderUrl)),
    next_cursor: next,
  };
  const response = Response.json(body, { headers });
  return ctx.request.method === "HEAD" ? new Response(null, { headers: response.headers }) : response;
}

function describe(entry: FolderEntry, folder: string, folderUrl: string) {
  const url = `${folderUrl}${encodePath(entry.name)}`;
  if (entry.kind === "folder") return { name: entry.name, type: "folder", path: `${folder}${entry.name}`, url };
  const { file } = entry;
  return {
    name: entry.name,
    type: "file",
    path: file.path,
    url,
    size: file.size,
    sha256: file.sha256,
    content_type: file.contentType,
    uploaded_at: file.uploadedAt.toISOString(),
    uploaded_by: file.uploadedBy,
  };
}

/** Browsers ask for HTML and never for JSON; curl and scripts (`*\/*`, `application/json`) get JSON. */
function prefersHtml(accept: string | null): boolean {
  return accept !== null && accept.includes("text/html") && !accept.includes("application/json");
}

function htmlPage(local: string, folder: string, entries: FolderEntry[], next: string | null): string {
  const title = escapeHtml(`${local}/${folder}`);
  const rows = entries.map((entry) => {
    const href = escapeHtml(encodePath(entry.name));
    if (entry.kind === "folder") return `<tr><td><a href="${href}">${escapeHtml(entry.name)}</a></td><td></td><td></td><td></td></tr>`;
    const { file } = entry;
    return `<tr><td><a href="${href}">${escapeHtml(entry.name)}</a></td><td>${file.size}</td><td>${escapeHtml(file.uploadedAt.toISOString())}</td><td><code>${file.sha256}</code></td></tr>`;
  });
  const up = folder === "" ? "" : `<p><a href="../">../</a></p>`;
  const more = next ? `<p><a href="?cursor=${encodeURIComponent(next)}">next page</a></p>` : "";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${up}
<table><thead><tr><th>name</th><th>size</th><th>uploaded</th><th>sha256</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>${more}
</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[char]!);
}

/** Each segment percent-encoded, the slashes kept. */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}
