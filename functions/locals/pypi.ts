import { prefers } from "../../providers/accept.ts";
import {
  distributionPath,
  parseCoreMetadata,
  parseDistributionName,
  projectPage,
  rootPage,
  sameVersion,
  SIMPLE_HTML,
  SIMPLE_JSON,
  type CoreMetadata,
  type DistributionName,
  type SimpleFormat,
} from "../../providers/pypi-local.ts";
import { normalizeProjectName } from "../../providers/pypi.ts";
import { remoteReadDenied } from "../auth.ts";
import { jsonError } from "../errors.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { releaseBlobs } from "../storage/content-address.ts";
import { writeAccess } from "./access.ts";
import { gunzipsWhole, MalformedArchive, readZipMember } from "./archives.ts";
import { commitUploads, UploadLost } from "./commit.ts";
import { serveLocalFile } from "./files.ts";
import type { LocalRequest, LocalType } from "./local-type.ts";
import { FormReader, formBoundary, MalformedForm } from "./multipart.ts";
import { ArchiveError, findInTarGz } from "./tar.ts";
import { forgetPackage, readPackageForIndex } from "./package-cache.ts";
import { receiveBody, uploadIncomplete } from "./upload.ts";

/** A form field of the upload API is short text; the file is the `content` part. */
const MAX_FIELD = 256 * 1024;
const MAX_METADATA = 4 * 1024 * 1024;

/**
 * `package: pypi` locals: the legacy upload API that twine speaks (`POST` of a multipart form
 * with `:action=file_upload` to the local's URL), and the simple repository API pip installs
 * from (`simple/`, `simple/{project}/`: PEP 503 HTML or PEP 691 JSON as asked, generated from
 * the rows on every read, cached per project in the state store, package-cache.ts). Files are
 * served at `packages/{project}/{filename}`.
 */
export const pypiLocal: LocalType = {
  async handle(ctx) {
    const { method } = ctx.request;
    const path = ctx.path;
    if (method === "POST" && (path === "" || path === "legacy/")) return upload(ctx);
    if (method !== "GET" && method !== "HEAD") return jsonError(405, "METHOD_NOT_ALLOWED", `${ctx.local.name}: upload with POST to the local's URL (twine); read with GET`, { allow: "GET, HEAD, POST" });
    const denied = remoteReadDenied(ctx.local, ctx.env, ctx.request);
    if (denied) return denied;
    if (path === "") return redirect(`${ctx.baseUrl}/simple/`);
    if (path === "simple/") return root(ctx);
    const project = /^simple\/([^/]+)(\/?)$/.exec(path);
    if (project) {
      const normalized = normalizeProjectName(project[1]!);
      // PEP 503: the normalised name is the page's URL; other spellings are sent there.
      if (normalized !== project[1] || project[2] === "") return redirect(`${ctx.baseUrl}/simple/${normalized}/`);
      return page(ctx, normalized);
    }
    if (/^packages\/[^/]+\/[^/]+$/.test(path)) {
      const served = await serveLocalFile(ctx, ctx.local.name, path, ctx.request);
      if (served) return served;
    }
    return jsonError(404, "NOT_FOUND", `${ctx.local.name}: no file '${path}'`);
  },
};

function redirect(location: string): Response {
  return new Response(null, { status: 301, headers: { location } });
}

/** PEP 691: JSON when the client ranks it above HTML (pip does), HTML otherwise. */
function negotiate(request: Request): { format: SimpleFormat; contentType: string } {
  const accept = request.headers.get("accept");
  if (prefers(accept, [SIMPLE_JSON], [SIMPLE_HTML, "text/html"])) return { format: "json", contentType: SIMPLE_JSON };
  return { format: "html", contentType: prefers(accept, [SIMPLE_HTML], ["text/html"]) ? SIMPLE_HTML : "text/html; charset=utf-8" };
}

function simpleResponse(ctx: LocalRequest, body: string, contentType: string): Response {
  const headers = { "content-type": contentType, vary: "accept", "cache-control": "no-cache" };
  return new Response(ctx.request.method === "HEAD" ? null : body, { headers });
}

async function root(ctx: LocalRequest): Promise<Response> {
  const { format, contentType } = negotiate(ctx.request);
  const packages = await ctx.stores.locals.listPackages(ctx.local.name);
  return simpleResponse(ctx, rootPage(packages, ctx.baseUrl, format), contentType);
}

async function page(ctx: LocalRequest, project: string): Promise<Response> {
  const { format, contentType } = negotiate(ctx.request);
  const state = await readPackageForIndex(ctx, ctx.local.name, project);
  const body = state && projectPage(state, ctx.baseUrl, format);
  if (!body) return jsonError(404, "NOT_FOUND", `${ctx.local.name}: no project '${project}'`);
  return simpleResponse(ctx, body, contentType);
}

interface UploadForm {
  fields: Map<string, string>;
  content: { blob: StoredBlob; filename: string } | null;
}

type Refusal = { status: 400 | 409 | 411 | 413; code: string; message: string };

/** twine upload: one distribution file per request, with the metadata twine read from it. */
async function upload(ctx: LocalRequest): Promise<Response> {
  const { local } = ctx;
  const started = Date.now();
  const access = await writeAccess(ctx, jsonError);
  if ("status" in access) return access.response;
  const refuse = (refusal: Refusal) => jsonError(refusal.status, refusal.code, `${local.name}: ${refusal.message}`);

  const form = await readForm(ctx);
  if ("refused" in form) return refuse(form.refused);
  const { fields, content } = form;
  if (!content) return refuse({ status: 400, code: "NO_CONTENT", message: "the form has no 'content' file part" });
  const { blob, filename } = content;
  const discard = () => ctx.stores.blobs.delete(blob.key).catch(() => {});

  const checked = await checkDistribution(ctx, fields, blob, filename);
  if ("refused" in checked) {
    await discard();
    return refuse(checked.refused);
  }
  const { metadata, distribution } = checked;
  const project = normalizeProjectName(metadata.name);
  const path = distributionPath(project, filename);
  const fileMetadata = { filetype: distribution.filetype, python_version: fields.get("pyversion") ?? null, ...(metadata.requiresPython ? { requires_python: metadata.requiresPython } : {}) };
  const file = { local: local.name, path, sha256: blob.sha256, size: blob.size, contentType: "application/octet-stream", uploadedBy: access.writer, metadata: fileMetadata };

  let stored: boolean;
  try {
    stored = await commitUploads(ctx.stores, [blob], async (locked) => {
      const published = await locked.publishVersion({
        local: local.name,
        package: { name: project, displayName: metadata.name, metadata: metadata.summary ? { summary: metadata.summary } : {} },
        version: metadata.version,
        metadata: { requires_python: metadata.requiresPython, summary: metadata.summary },
        publishedBy: access.writer,
        files: [file],
      });
      if (published.result === "published") return true;
      // The release exists (a wheel and an sdist of one version come one by one): add the file to it.
      const added = await locked.insertLocalFile({ ...file, package: project, version: metadata.version }, { replace: false });
      return added.stored !== null;
    });
  } catch (error) {
    if (error instanceof UploadLost) return jsonError(503, "UPLOAD_LOST", `${local.name}: ${error.message}`, { "retry-after": "1" });
    throw error;
  }
  if (!stored) {
    await releaseBlobs(ctx.stores.blobs, ctx.stores.locals, [blob.sha256]);
    return refuse({ status: 409, code: "FILE_EXISTS", message: `File already exists: ${filename} was uploaded before; a file can never be replaced, upload a new version` });
  }
  await forgetPackage(ctx, local.name, project);
  ctx.observer.uploadFinished({ remote: local.name, path, size: blob.size, sha256: blob.sha256, by: access.writer, durationMs: Date.now() - started, replaced: false });
  return Response.json({ ok: true, project, version: metadata.version, filename, sha256: blob.sha256, url: `${ctx.baseUrl}/${path}` });
}

/** The form's text fields, and its `content` part streamed into the blob store (never held whole). */
async function readForm(ctx: LocalRequest): Promise<UploadForm | { refused: Refusal }> {
  const { request, local } = ctx;
  const boundary = formBoundary(request.headers.get("content-type"));
  if (!boundary || !request.body) return { refused: { status: 400, code: "BAD_FORM", message: "the upload API takes a multipart/form-data body (twine upload)" } };
  const length = request.headers.get("content-length");
  // The form's other fields are small: the body's length bounds the file's well enough to refuse before reading.
  if (length !== null && Number(length) > local.max_upload_size + 1024 * 1024) {
    return { refused: { status: 413, code: "BODY_TOO_LARGE", message: `uploads to this repository are limited to ${local.max_upload_size} bytes (max_upload_size)` } };
  }
  const reader = new FormReader(request.body, boundary);
  const fields = new Map<string, string>();
  let content: UploadForm["content"] = null;
  try {
    for (let part = await reader.next(); part !== null; part = await reader.next()) {
      if (part.name === "content" && part.filename !== null && content === null) {
        const received = await receiveBody(ctx.stores, part.body, null, local.max_upload_size);
        if ("refused" in received) return { refused: received.refused };
        content = { blob: received.blob, filename: part.filename };
      } else if (part.filename !== null) {
        // Signatures and attestations are not kept.
        await part.body.cancel();
      } else {
        fields.set(part.name, await FormReader.text(part, MAX_FIELD));
      }
    }
  } catch (error) {
    if (content) await ctx.stores.blobs.delete(content.blob.key).catch(() => {});
    if (error instanceof MalformedForm) return { refused: { status: 400, code: "BAD_FORM", message: `the multipart body cannot be read: ${error.message}` } };
    return { refused: uploadIncomplete(error) };
  } finally {
    await reader.cancel();
  }
  return { fields, content };
}

/**
 * What the upload API checks before a file is kept: the action, the digest the client sent, a
 * file name that is a wheel or an sdist, and an archive whose core metadata names the same
 * project and version as the form and the file name.
 */
async function checkDistribution(
  ctx: LocalRequest,
  fields: Map<string, string>,
  blob: StoredBlob,
  filename: string,
): Promise<{ metadata: CoreMetadata; distribution: DistributionName } | { refused: Refusal }> {
  const bad = (message: string) => ({ refused: { status: 400 as const, code: "BAD_UPLOAD", message } });
  const action = fields.get(":action");
  if (action !== "file_upload") return bad(`':action' must be 'file_upload' (got ${action === undefined ? "none" : `'${action}'`})`);
  const declared = fields.get("sha256_digest")?.trim().toLowerCase();
  if (declared && declared !== blob.sha256) return { refused: { status: 400, code: "DIGEST_MISMATCH", message: `sha256_digest is ${declared}, the file's sha256 is ${blob.sha256}; nothing was stored` } };
  const distribution = parseDistributionName(filename);
  if (!distribution) return bad(`'${filename}' is neither a wheel (.whl) nor an sdist (.tar.gz)`);
  const filetype = fields.get("filetype");
  if (filetype !== undefined && filetype !== distribution.filetype) return bad(`filetype '${filetype}' does not match the file '${filename}'`);

  let metadata: CoreMetadata | null;
  try {
    metadata = await readMetadata(ctx, blob, distribution.filetype);
  } catch (error) {
    if (error instanceof MalformedArchive || error instanceof ArchiveError) return bad(`${filename} is not a valid ${distribution.filetype === "sdist" ? "sdist" : "wheel"}: ${error.message}`);
    throw error;
  }
  if (!metadata) return bad(`${filename} has no core metadata (${distribution.filetype === "sdist" ? "<name>-<version>/PKG-INFO" : "<name>.dist-info/METADATA"}) with a Name and a Version`);
  const project = normalizeProjectName(metadata.name);
  if (normalizeProjectName(distribution.project) !== project || !sameVersion(distribution.version, metadata.version)) {
    return bad(`the file name says ${distribution.project} ${distribution.version}, its metadata ${metadata.name} ${metadata.version}`);
  }
  const name = fields.get("name");
  const version = fields.get("version");
  if ((name !== undefined && normalizeProjectName(name) !== project) || (version !== undefined && version !== metadata.version)) {
    return bad(`the form says ${name} ${version}, the file's metadata ${metadata.name} ${metadata.version}`);
  }
  return { metadata, distribution };
}

/** The distribution's core metadata, read from the stored upload: a wheel's METADATA, an sdist's PKG-INFO. */
async function readMetadata(ctx: LocalRequest, blob: StoredBlob, filetype: DistributionName["filetype"]): Promise<CoreMetadata | null> {
  const { blobs } = ctx.stores;
  const decode = (bytes: Uint8Array) => parseCoreMetadata(new TextDecoder().decode(bytes));
  if (filetype === "bdist_wheel") {
    const member = await readZipMember(blobs, blob.key, blob.size, (path) => /^[^/]+\.dist-info\/METADATA$/.test(path), MAX_METADATA);
    return member && decode(member.data);
  }
  const stream = async () => {
    const object = await blobs.get(blob.key);
    if (!object?.body) throw new Error(`the upload ${blob.key} vanished while it was being read`);
    return object.body;
  };
  const member = await findInTarGz(await stream(), (path) => /^[^/]+\/PKG-INFO$/.test(path), MAX_METADATA);
  if (!member) return null;
  const damaged = await gunzipsWhole(await stream());
  if (damaged) throw new MalformedArchive(damaged);
  return decode(member.bytes);
}
