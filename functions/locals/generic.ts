import { remoteReadDenied } from "../auth.ts";
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
  const { local, request } = ctx;
  const started = Date.now();
  const access = await writeAccess(ctx, jsonError);
  if ("status" in access) return access.response;
  if (ctx.path === "" || ctx.path.endsWith("/")) return jsonError(400, "BAD_PATH", `${local.name}: PUT a file path, not a folder`);
  const refused = pathDenied(local, ctx.path);
  if (refused) return jsonError(403, "DENIED", `${local.name}: ${refused}`);
  const expected = declaredSha256(request);
  if (expected === "invalid") return jsonError(400, "BAD_CHECKSUM", "X-Checksum-Sha256 must be 64 hex digits");
  // Refused before the body is read; the commit checks again for a racing upload.
  if (!local.allow_overwrite && (await ctx.stores.locals.getLocalFile(local.name, ctx.path))) return exists(ctx);

  const received = await receiveUpload(ctx.stores, request, local.max_upload_size);
  if ("refused" in received) return jsonError(received.refused.status, received.refused.code, `${local.name}: ${received.refused.message}`);
  const { blob } = received;
  if (expected !== null && expected !== blob.sha256) {
    await ctx.stores.blobs.delete(blob.key);
    return jsonError(400, "CHECKSUM_MISMATCH", `${local.name}: the body's sha256 is ${blob.sha256}, X-Checksum-Sha256 says ${expected}; nothing was stored`);
  }

  const file = { path: ctx.path, contentType: contentTypeFor(ctx.path, request.headers.get("content-type")), uploadedBy: access.writer };
  let committed;
  try {
    committed = await commitFile(ctx, local.name, blob, file, { replace: local.allow_overwrite });
  } catch (error) {
    if (error instanceof UploadLost) return jsonError(503, "UPLOAD_LOST", `${local.name}: ${error.message}`, { "retry-after": "1" });
    throw error;
  }
  if (committed.result === "exists") return exists(ctx);
  const stored = committed.file;
  ctx.observer.uploadFinished({
    remote: local.name,
    path: stored.path,
    size: stored.size,
    sha256: stored.sha256,
    by: stored.uploadedBy,
    durationMs: Date.now() - started,
    replaced: committed.result === "replaced",
  });
  const url = `${ctx.baseUrl}/${encodePath(stored.path)}`;
  const body = {
    local: local.name,
    path: stored.path,
    url,
    size: stored.size,
    sha256: stored.sha256,
    content_type: stored.contentType,
    uploaded_by: stored.uploadedBy,
    uploaded_at: stored.uploadedAt.toISOString(),
    result: committed.result,
  };
  return Response.json(body, { status: committed.result === "created" ? 201 : 200, headers: { location: url, etag: `"${stored.sha256}"` } });
}

async function remove(ctx: LocalRequest): Promise<Response> {
  const access = await writeAccess(ctx, jsonError);
  if ("status" in access) return access.response;
  if (ctx.path === "" || ctx.path.endsWith("/")) return jsonError(400, "BAD_PATH", `${ctx.local.name}: DELETE a file path, not a folder`);
  const refused = pathDenied(ctx.local, ctx.path);
  if (refused) return jsonError(403, "DENIED", `${ctx.local.name}: ${refused}`);
  const file = await deleteFile(ctx, ctx.local.name, ctx.path);
  if (!file) return jsonError(404, "NOT_FOUND", `${ctx.local.name}: no file '${ctx.path}'`);
  ctx.observer.uploadDeleted({ remote: ctx.local.name, path: file.path, size: file.size, sha256: file.sha256, by: access.writer });
  return new Response(null, { status: 204 });
}

function exists(ctx: LocalRequest): Response {
  return jsonError(409, "ALREADY_EXISTS", `${ctx.local.name}: '${ctx.path}' exists and this repository does not allow overwrites (allow_overwrite: false); DELETE it first`);
}
