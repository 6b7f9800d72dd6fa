import type { LocalFile } from "../../infra/meta/local-store.ts";
import { remoteReadDenied } from "../auth.ts";
import type { LocalConfig } from "../config/schema.ts";
import type { ProxyContext } from "../context.ts";
import { writeAccess } from "./access.ts";
import { jsonError } from "../errors.ts";
import { contentTypeFor } from "../proxy/content-type.ts";
import { UploadLost } from "./commit.ts";
import { commitFile, deleteFile, serveLocalFile } from "./files.ts";
import { encodePath, folderListing } from "./listing.ts";
import type { LocalRequest, LocalType } from "./local-type.ts";
import { pathDenied } from "./path-rules.ts";
import { declaredSha256, receiveUpload } from "./upload.ts";

/**
 * `package: generic` locals: any file at any path, written with `curl -T` (PUT), read with GET /
 * HEAD (the headers of a cached file), removed with DELETE; a path ending in "/" lists a folder.
 */
export const genericLocal: LocalType = {
  handle(ctx) {
    switch (ctx.request.method) {
      case "GET":
      case "HEAD":
        return read(ctx);
      case "PUT":
        return put(ctx);
      case "DELETE":
        return remove(ctx);
      default:
        return Promise.resolve(jsonError(405, "METHOD_NOT_ALLOWED", `${ctx.local.name}: use GET, HEAD, PUT or DELETE`, { allow: "GET, HEAD, PUT, DELETE" }));
    }
  },
};

async function read(ctx: LocalRequest): Promise<Response> {
  const denied = remoteReadDenied(ctx.local, ctx.env, ctx.request);
  if (denied) return denied;
  if (ctx.path === "" || ctx.path.endsWith("/")) return folderListing(ctx, ctx.path);
  const refused = pathDenied(ctx.local, ctx.path);
  if (refused) return jsonError(403, "DENIED", `${ctx.local.name}: ${refused}`);
  const served = await serveLocalFile(ctx, ctx.local.name, ctx.path, ctx.request);
  if (served) return served;
  // A folder asked for without its slash: send the client to its listing.
  const inside = await ctx.stores.locals.listLocalFolder(ctx.local.name, `${ctx.path}/`, { limit: 1 });
  if (inside.length > 0) return new Response(null, { status: 301, headers: { location: `${ctx.baseUrl}/${encodePath(ctx.path)}/` } });
  return jsonError(404, "NOT_FOUND", `${ctx.local.name}: no file '${ctx.path}'`);
}

async function put(ctx: LocalRequest): Promise<Response> {
  const access = await writeAccess(ctx, jsonError);
  if ("status" in access) return access.response;
  if (ctx.path === "" || ctx.path.endsWith("/")) return jsonError(400, "BAD_PATH", `${ctx.local.name}: PUT a file path, not a folder`);
  const expectedSha256 = declaredSha256(ctx.request);
  if (expectedSha256 === "invalid") return jsonError(400, "BAD_CHECKSUM", "X-Checksum-Sha256 must be 64 hex digits");
  const stored = await storeGenericFile(ctx, ctx.local, ctx.path, ctx.request, { writer: access.writer, contentType: ctx.request.headers.get("content-type"), expectedSha256 });
  if ("refused" in stored) return refusal(stored.refused);
  const { file, result } = stored;
  const url = `${ctx.baseUrl}/${encodePath(file.path)}`;
  const body = {
    local: ctx.local.name,
    path: file.path,
    url,
    size: file.size,
    sha256: file.sha256,
    content_type: file.contentType,
    uploaded_by: file.uploadedBy,
    uploaded_at: file.uploadedAt.toISOString(),
    result,
  };
  return Response.json(body, { status: result === "created" ? 201 : 200, headers: { location: url, etag: `"${file.sha256}"` } });
}

async function remove(ctx: LocalRequest): Promise<Response> {
  const access = await writeAccess(ctx, jsonError);
  if ("status" in access) return access.response;
  if (ctx.path === "" || ctx.path.endsWith("/")) return jsonError(400, "BAD_PATH", `${ctx.local.name}: DELETE a file path, not a folder`);
  const removed = await removeGenericFile(ctx, ctx.local, ctx.path, access.writer);
  if ("refused" in removed) return refusal(removed.refused);
  return new Response(null, { status: 204 });
}

/** Why a write to a generic local did not happen; the HTTP API answers it as JSON, the web UI as a page. */
export interface WriteRefused {
  status: 400 | 403 | 404 | 409 | 413 | 503;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

const refusal = (refused: WriteRefused) => jsonError(refused.status, refused.code, refused.message, refused.headers);

/**
 * Stores a body as a generic local's file at `path` (a file path, already checked for `.`/`..`
 * segments): the local's path rules and overwrite rule, its max_upload_size and a declared
 * sha256 checked, the bytes streamed (upload.ts) and committed (files.ts), the upload event
 * recorded. What a `curl -T` and the web UI's upload form both go through; the writer's access
 * is the caller's to check before, and nothing of the body is read before the checks that need
 * no bytes.
 */
export async function storeGenericFile(
  scope: ProxyContext,
  local: LocalConfig,
  path: string,
  body: Pick<Request, "headers" | "body">,
  options: { writer: string; contentType: string | null; expectedSha256: string | null },
): Promise<{ result: "created" | "replaced"; file: LocalFile } | { refused: WriteRefused }> {
  const started = Date.now();
  const denied = pathDenied(local, path);
  if (denied) return { refused: { status: 403, code: "DENIED", message: `${local.name}: ${denied}` } };
  // Refused before the body is read; the commit checks again for a racing upload.
  if (!local.allow_overwrite && (await scope.stores.locals.getLocalFile(local.name, path))) return { refused: exists(local, path) };

  const received = await receiveUpload(scope.stores, body, local.max_upload_size);
  if ("refused" in received) return { refused: { ...received.refused, message: `${local.name}: ${received.refused.message}` } };
  const { blob } = received;
  if (options.expectedSha256 !== null && options.expectedSha256 !== blob.sha256) {
    await scope.stores.blobs.delete(blob.key);
    return { refused: { status: 400, code: "CHECKSUM_MISMATCH", message: `${local.name}: the body's sha256 is ${blob.sha256}, X-Checksum-Sha256 says ${options.expectedSha256}; nothing was stored` } };
  }

  const file = { path, contentType: contentTypeFor(path, options.contentType), uploadedBy: options.writer };
  let committed;
  try {
    committed = await commitFile(scope, local.name, blob, file, { replace: local.allow_overwrite });
  } catch (error) {
    if (error instanceof UploadLost) return { refused: { status: 503, code: "UPLOAD_LOST", message: `${local.name}: ${error.message}`, headers: { "retry-after": "1" } } };
    throw error;
  }
  if (committed.result === "exists") return { refused: exists(local, path) };
  const stored = committed.file;
  scope.observer.uploadFinished({
    remote: local.name,
    path: stored.path,
    size: stored.size,
    sha256: stored.sha256,
    by: stored.uploadedBy,
    durationMs: Date.now() - started,
    replaced: committed.result === "replaced",
  });
  return { result: committed.result, file: stored };
}

/** Deletes a generic local's file (path rules checked) and records the event; the writer's access is the caller's to check. */
export async function removeGenericFile(scope: ProxyContext, local: LocalConfig, path: string, writer: string): Promise<LocalFile | { refused: WriteRefused }> {
  const denied = pathDenied(local, path);
  if (denied) return { refused: { status: 403, code: "DENIED", message: `${local.name}: ${denied}` } };
  const file = await deleteFile(scope, local.name, path);
  if (!file) return { refused: { status: 404, code: "NOT_FOUND", message: `${local.name}: no file '${path}'` } };
  scope.observer.uploadDeleted({ remote: local.name, path: file.path, size: file.size, sha256: file.sha256, by: writer });
  return file;
}

function exists(local: LocalConfig, path: string): WriteRefused {
  return { status: 409, code: "ALREADY_EXISTS", message: `${local.name}: '${path}' exists and this repository does not allow overwrites (allow_overwrite: false); DELETE it first` };
}
