import type { UploadChunk, UploadSession } from "../../infra/meta/local-store.ts";
import { MANIFEST_MEDIA_TYPES, parseDigest, parseRegistryPath, registryError, type RegistryErrorCode } from "../../providers/docker.ts";
import { localWriteAccess, mayReadRemote } from "../auth.ts";
import type { BlobStore } from "../../infra/blob/types.ts";
import type { StoredBlob } from "../storage/blob-upload.ts";
import { commitUploads, UploadLost } from "./commit.ts";
import { deleteFile, forgetFiles, serveLocalFile } from "./files.ts";
import type { LocalRequest, LocalType } from "./local-type.ts";
import { receiveBody, receiveUpload, type Received } from "./upload.ts";

const API_VERSION = { "docker-distribution-api-version": "registry/2.0" };
/** What the distribution registry accepts as a manifest; larger bodies are refused before being read whole. */
const MAX_MANIFEST = 4 * 1024 * 1024;
const BLOB_TYPE = "application/octet-stream";
const UPLOADS = /^(.+)\/blobs\/uploads\/([^/]*)$/;
const SESSION_ID = /^[0-9a-f-]{36}$/;

/**
 * `package: docker` locals at `/v2/{local}/{repository…}/…`: the registry v2 (OCI distribution)
 * push and pull API, what `docker push`, skopeo and crane speak. Blobs are files
 * (`{repository}/blobs/sha256:…`, one row per repository, shared bytes), manifests are versions
 * named by their digest with a file `{repository}/manifests/sha256:…`, tags point at them.
 * Digests are checked on every write (DIGEST_INVALID), and a manifest is taken only when every
 * blob (or, for an index, every manifest) it refers to is in the repository (MANIFEST_BLOB_UNKNOWN).
 * A chunked upload's state is a row and its chunks blobs, so any isolate can take the next request.
 */
export const dockerLocal: LocalType = {
  async handle(ctx) {
    const method = ctx.request.method;
    const upload = UPLOADS.exec(ctx.path);
    if (upload) {
      const [, repository, id] = upload as unknown as [string, string, string];
      if (!parseRegistryPath(`${repository}/tags/list`)) return registryResponse(400, "NAME_INVALID", "repository names are lowercase path components");
      const access = await localWriteAccess(ctx.local, ctx.env, ctx.request);
      if (!("writer" in access)) return accessRefused(ctx, access);
      const push = { ...ctx, repository, writer: access.writer };
      if (id === "") return method === "POST" ? startUpload(push) : methodNotAllowed("POST");
      if (!SESSION_ID.test(id)) return registryResponse(404, "BLOB_UPLOAD_UNKNOWN", `no upload session '${id}'`);
      switch (method) {
        case "PATCH":
          return appendChunk(push, id);
        case "PUT":
          return finishUpload(push, id);
        case "GET":
          return uploadStatus(push, id);
        case "DELETE":
          return cancelUpload(push, id);
        default:
          return methodNotAllowed("GET, PATCH, PUT, DELETE");
      }
    }

    const parsed = parseRegistryPath(ctx.path);
    if (!parsed) return registryResponse(404, "NAME_INVALID", "not a registry v2 path (repository names are lowercase)");
    if (method === "GET" || method === "HEAD") {
      if (!mayReadRemote(ctx.local, ctx.env, ctx.request)) return challenge(ctx, `${ctx.local.name}: this registry is private; log in with one of its read tokens`);
      if (parsed.kind === "tags") return tagList(ctx, parsed.repository);
      if (parsed.kind === "blob") return serveBlob(ctx, parsed.repository, parsed.reference);
      return serveManifest(ctx, parsed.repository, parsed.reference, parsed.digest !== null);
    }
    const allowed: string[] = { manifest: ["PUT", "DELETE"], blob: ["DELETE"], tags: [] }[parsed.kind];
    if (parsed.kind === "tags" || !allowed.includes(method)) return methodNotAllowed(["GET", "HEAD", ...allowed].join(", "));
    const access = await localWriteAccess(ctx.local, ctx.env, ctx.request);
    if (!("writer" in access)) return accessRefused(ctx, access);
    const push = { ...ctx, repository: parsed.repository, writer: access.writer };
    if (parsed.kind === "blob") return deleteBlob(push, parsed.reference);
    return method === "PUT" ? putManifest(push, parsed.reference, parsed.digest !== null) : deleteManifest(push, parsed.reference, parsed.digest !== null);
  },
};

interface Push extends LocalRequest {
  repository: string;
  writer: string;
}

const blobPath = (repository: string, digest: string) => `${repository}/blobs/${digest}`;
const manifestPath = (repository: string, digest: string) => `${repository}/manifests/${digest}`;
const sessionUrl = (ctx: Push, id: string) => `${ctx.baseUrl}/${ctx.repository}/blobs/uploads/${id}`;

// ---- blob uploads ----

/** POST …/blobs/uploads/: a cross-repository mount, a monolithic upload (?digest=), or a new session (202). */
async function startUpload(ctx: Push): Promise<Response> {
  const query = new URL(ctx.request.url).searchParams;
  const mount = query.get("mount");
  const from = query.get("from");
  if (mount !== null && from !== null) {
    const mounted = await mountBlob(ctx, mount, from);
    if (mounted) return mounted;
    // Not there to mount: the client gets a session and uploads the blob (the spec's fallback).
  }
  const digest = query.get("digest");
  if (digest !== null) {
    const expected = sha256Of(digest);
    if (!expected) return digestInvalid(digest);
    const received = await receiveUpload(ctx.stores, ctx.request, ctx.local.max_upload_size);
    if ("refused" in received) return refused(ctx, received);
    return commitBlob(ctx, received.blob, digest, Date.now(), []);
  }
  await ctx.request.body?.cancel();
  const id = crypto.randomUUID();
  await ctx.stores.locals.startUploadSession({ local: ctx.local.name, id, repository: ctx.repository, startedBy: ctx.writer });
  return sessionResponse(ctx, id, 0, 202);
}

/**
 * The blob of another repository of this local, made this repository's too (no bytes move); null
 * when `from` has no such blob. `from` is the repository as the client names it, with the
 * local's name in front unless a hostname mapped to the local is used (`{local}/team/app`).
 */
async function mountBlob(ctx: Push, digest: string, from: string): Promise<Response | null> {
  const prefix = new URL(ctx.baseUrl).pathname.slice("/v2/".length);
  const repository = prefix === "" ? from : from.startsWith(`${prefix}/`) ? from.slice(prefix.length + 1) : null;
  if (!sha256Of(digest) || repository === null || !parseRegistryPath(`${repository}/tags/list`)) return null;
  const source = await ctx.stores.locals.getLocalFile(ctx.local.name, blobPath(repository, digest));
  if (!source) return null;
  // Mounted by this request, or there already: either way the same bytes.
  await ctx.stores.locals.withBlobLocks([source.sha256], (locked) =>
    locked.insertLocalFile(
      { local: ctx.local.name, path: blobPath(ctx.repository, digest), sha256: source.sha256, size: source.size, contentType: BLOB_TYPE, uploadedBy: ctx.writer, package: ctx.repository },
      { replace: false },
    ),
  );
  return blobCreated(ctx, digest);
}

/** PATCH …/blobs/uploads/{id}: one more chunk, streamed into the blob store as its own blob. */
async function appendChunk(ctx: Push, id: string): Promise<Response> {
  const session = await sessionOf(ctx, id);
  if (!session) return unknownSession(ctx, id);
  const range = ctx.request.headers.get("content-range");
  if (range !== null) {
    const match = /^(?:bytes )?(\d+)-(\d+)$/.exec(range.trim());
    if (!match || Number(match[1]) !== session.size) {
      await ctx.request.body?.cancel();
      return rangeInvalid(ctx, session);
    }
  }
  const received = await receiveChunk(ctx, session, ctx.request);
  if ("response" in received) return received.response;
  return sessionResponse(ctx, id, received.session.size, 202);
}

/** PUT …/blobs/uploads/{id}?digest=: the last chunk (if the body has one), then the blob is assembled, checked and committed. */
async function finishUpload(ctx: Push, id: string): Promise<Response> {
  const started = Date.now();
  const digest = new URL(ctx.request.url).searchParams.get("digest");
  let session = await sessionOf(ctx, id);
  if (!session) return unknownSession(ctx, id);
  if (digest === null || !sha256Of(digest)) {
    await ctx.request.body?.cancel();
    return digest === null ? registryResponse(400, "DIGEST_INVALID", "the PUT that ends an upload names the blob's digest (?digest=sha256:…)") : digestInvalid(digest);
  }
  if (ctx.request.body && ctx.request.headers.get("content-length") !== "0") {
    const received = await receiveChunk(ctx, session, ctx.request);
    if ("response" in received) return received.response;
    session = received.session;
  }
  const ended = await ctx.stores.locals.endUploadSession(ctx.local.name, id);
  if (!ended) return unknownSession(ctx, id);
  let blob: StoredBlob;
  try {
    blob = await assemble(ctx, ended);
  } catch (error) {
    await deleteChunks(ctx.stores.blobs, ended.chunks);
    if (error instanceof MissingChunk) return registryResponse(404, "BLOB_UPLOAD_UNKNOWN", `upload ${id}: ${error.message}; start the upload again`);
    throw error;
  }
  return commitBlob(ctx, blob, digest, started, ended.chunks.filter((chunk) => chunk.key !== blob.key));
}

/** GET …/blobs/uploads/{id}: how far the upload is (a client resuming). */
async function uploadStatus(ctx: Push, id: string): Promise<Response> {
  const session = await sessionOf(ctx, id);
  if (!session) return unknownSession(ctx, id);
  return sessionResponse(ctx, id, session.size, 204);
}

/** DELETE …/blobs/uploads/{id}: the client gives up; its chunks go now. */
async function cancelUpload(ctx: Push, id: string): Promise<Response> {
  const session = await sessionOf(ctx, id);
  const ended = session && (await ctx.stores.locals.endUploadSession(ctx.local.name, id));
  if (!ended) return unknownSession(ctx, id);
  await deleteChunks(ctx.stores.blobs, ended.chunks);
  return new Response(null, { status: 204, headers: API_VERSION });
}

async function sessionOf(ctx: Push, id: string): Promise<UploadSession | null> {
  const session = await ctx.stores.locals.getUploadSession(ctx.local.name, id);
  return session && session.repository === ctx.repository ? session : null;
}

type ReceivedChunk = { session: UploadSession } | { response: Response };

/** A request body as the session's next chunk; refused past max_upload_size for the whole blob. */
async function receiveChunk(ctx: Push, session: UploadSession, request: Request): Promise<ReceivedChunk> {
  const header = request.headers.get("content-length");
  const declared = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  const received = await receiveBody(ctx.stores, request.body, declared, ctx.local.max_upload_size - session.size);
  if ("refused" in received) return { response: refused(ctx, received) };
  const { blob } = received;
  if (blob.size === 0) {
    await ctx.stores.blobs.delete(blob.key).catch(() => {});
    return { session };
  }
  const chunk: UploadChunk = { key: blob.key, sha256: blob.sha256, size: blob.size };
  const appended = await ctx.stores.locals.appendUploadChunk(ctx.local.name, session.id, session.size, chunk);
  if (appended) return { session: appended };
  const now = await ctx.stores.locals.getUploadSession(ctx.local.name, session.id);
  if (now && now.size === session.size) {
    // Still where this chunk starts: nobody else appended, so the chunk belongs here (seen once under heavy load, cause unknown).
    console.error(`upload ${session.id}: appending at ${session.size} matched no row although the session is there; appending again`);
    const again = await ctx.stores.locals.appendUploadChunk(ctx.local.name, session.id, session.size, chunk);
    if (again) return { session: again };
  }
  // Another request wrote to this session meanwhile (or ended it): this chunk belongs nowhere.
  await ctx.stores.blobs.delete(blob.key).catch(() => {});
  return { response: now ? rangeInvalid(ctx, now) : unknownSession(ctx, session.id) };
}

class MissingChunk extends Error {}

/** The session's chunks as one blob: the chunk itself when there is one, else a copy of them in order, hashed. */
async function assemble(ctx: Push, session: UploadSession): Promise<StoredBlob> {
  const [only] = session.chunks;
  if (session.chunks.length === 1 && only) {
    if (!(await ctx.stores.blobs.head(only.key))) throw new MissingChunk("its data is gone (an abandoned upload is swept after a while)");
    return { ...only, stored: true };
  }
  const received: Received = await receiveBody(ctx.stores, concatenated(ctx.stores.blobs, session.chunks), session.size, Number.MAX_SAFE_INTEGER);
  if ("refused" in received) throw new MissingChunk(received.refused.message);
  await deleteChunks(ctx.stores.blobs, session.chunks);
  return received.blob;
}

/** The chunks' bytes one after another, read as the copy goes. */
function concatenated(blobs: BlobStore, chunks: UploadChunk[]): ReadableStream<Uint8Array> {
  let next = 0;
  let current: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (!current) {
          const chunk = chunks[next++];
          if (!chunk) return controller.close();
          const object = await blobs.get(chunk.key);
          if (!object?.body) throw new MissingChunk("a chunk's data is gone (an abandoned upload is swept after a while)");
          current = object.body.getReader();
        }
        const { done, value } = await current.read();
        if (!done) return controller.enqueue(value);
        current = null;
      }
    },
    async cancel(reason) {
      await current?.cancel(reason);
    },
  });
}

async function deleteChunks(blobs: BlobStore, chunks: UploadChunk[]): Promise<void> {
  await Promise.all(chunks.map((chunk) => blobs.delete(chunk.key).catch(() => {})));
}

/** Checks the blob against its digest and records it as the repository's (201), or refuses it with nothing kept. */
async function commitBlob(ctx: Push, blob: StoredBlob, digest: string, started: number, leftovers: UploadChunk[]): Promise<Response> {
  await deleteChunks(ctx.stores.blobs, leftovers);
  if (sha256Of(digest) !== blob.sha256) {
    await ctx.stores.blobs.delete(blob.key).catch(() => {});
    return registryResponse(400, "DIGEST_INVALID", `the uploaded bytes are sha256:${blob.sha256}, not ${digest}; nothing was stored`);
  }
  const path = blobPath(ctx.repository, digest);
  let outcome;
  try {
    outcome = await commitUploads(ctx.stores, [blob], (locked) =>
      locked.insertLocalFile({ local: ctx.local.name, path, sha256: blob.sha256, size: blob.size, contentType: BLOB_TYPE, uploadedBy: ctx.writer, package: ctx.repository }, { replace: false }),
    );
  } catch (error) {
    if (error instanceof UploadLost) return registryResponse(503, "UNAVAILABLE", `${ctx.local.name}: ${error.message}`);
    throw error;
  }
  if (outcome.stored) {
    ctx.observer.uploadFinished({ remote: ctx.local.name, path, size: blob.size, sha256: blob.sha256, by: ctx.writer, durationMs: Date.now() - started, replaced: false });
  }
  return blobCreated(ctx, digest);
}

/**
 * DELETE …/blobs/{digest}: the blob leaves this repository (202); its bytes go once no other
 * repository, local or cache has them. Distribution deletes the repository's link to the blob
 * and nothing else, leaving any manifest that names it unpullable; here a blob that a manifest
 * of the repository still names is refused (409 DENIED, the manifests listed): delete those
 * manifests first. So every manifest served can be pulled whole, as its PUT made sure.
 */
async function deleteBlob(ctx: Push, digest: string): Promise<Response> {
  if (!sha256Of(digest)) return digestInvalid(digest);
  const local = ctx.local.name;
  const path = blobPath(ctx.repository, digest);
  if (!(await ctx.stores.locals.getLocalFile(local, path))) return registryResponse(404, "BLOB_UNKNOWN", `${ctx.repository} has no blob ${digest}`);
  const state = await ctx.stores.locals.readPackage(local, ctx.repository);
  const users = (state?.versions ?? []).filter((version) => version.deletedAt === null && (version.metadata.blobs as string[] | undefined)?.includes(digest));
  if (users.length > 0) {
    const manifests = users.map((version) => version.version).join(", ");
    return registryResponse(409, "DENIED", `${digest} is named by manifest ${manifests} of ${ctx.repository}; delete the manifest first`);
  }
  const removed = await deleteFile(ctx, local, path);
  if (!removed) return registryResponse(404, "BLOB_UNKNOWN", `${ctx.repository} has no blob ${digest}`);
  ctx.observer.uploadDeleted({ remote: local, path, size: removed.size, sha256: removed.sha256, by: ctx.writer });
  return new Response(null, { status: 202, headers: { ...API_VERSION, "docker-content-digest": digest } });
}

// ---- manifests and tags ----

interface ManifestFacts {
  mediaType: string;
  /** Blobs (an image manifest's config and layers) or manifests (an index's) it refers to. */
  blobs: string[];
  manifests: string[];
}

/** PUT …/manifests/{tag|digest}: checked (digest, references), stored as a version named by its digest, the tag pointed at it. */
async function putManifest(ctx: Push, reference: string, byDigest: boolean): Promise<Response> {
  const started = Date.now();
  const body = await readManifestBody(ctx.request);
  if (body === null) return registryResponse(413, "SIZE_INVALID", `a manifest is at most ${MAX_MANIFEST} bytes`);
  const sha256 = hex(await crypto.subtle.digest("SHA-256", body));
  const digest = `sha256:${sha256}`;
  if (byDigest && sha256Of(reference) !== sha256) return registryResponse(400, "DIGEST_INVALID", `the manifest's digest is ${digest}, not ${reference}`);
  const facts = manifestFacts(body, ctx.request.headers.get("content-type"));
  if (typeof facts === "string") return registryResponse(400, "MANIFEST_INVALID", facts);
  const missing = await missingReferences(ctx, facts);
  if (missing.length > 0) {
    return Response.json(
      { errors: missing.map((ref) => ({ code: "MANIFEST_BLOB_UNKNOWN", message: `${ref} is not in ${ctx.repository}: push it first`, detail: { digest: ref } })) },
      { status: 400, headers: API_VERSION },
    );
  }

  const received = await receiveBody(ctx.stores, new Blob([body]).stream(), body.byteLength, MAX_MANIFEST);
  if ("refused" in received) return refused(ctx, received);
  const tag = byDigest ? undefined : reference;
  const path = manifestPath(ctx.repository, digest);
  let published;
  try {
    published = await commitUploads(ctx.stores, [received.blob], (locked) =>
      locked.publishVersion({
        local: ctx.local.name,
        package: { name: ctx.repository, displayName: ctx.repository },
        version: digest,
        metadata: { mediaType: facts.mediaType, blobs: facts.blobs, manifests: facts.manifests },
        publishedBy: ctx.writer,
        files: [{ local: ctx.local.name, path, sha256, size: body.byteLength, contentType: facts.mediaType, uploadedBy: ctx.writer }],
        tags: tag ? { [tag]: digest } : {},
        // Registries take a deleted manifest again.
        republish: true,
      }),
    );
  } catch (error) {
    if (error instanceof UploadLost) return registryResponse(503, "UNAVAILABLE", `${ctx.local.name}: ${error.message}`);
    throw error;
  }
  if (published.result === "exists") {
    // The same manifest again (another tag, a retried push): only the tag moves.
    if (tag && !(await ctx.stores.locals.setTag(ctx.local.name, ctx.repository, tag, digest))) {
      return registryResponse(409, "MANIFEST_INVALID", `${digest} was deleted while it was being pushed; push it again`);
    }
  } else {
    ctx.observer.uploadFinished({ remote: ctx.local.name, path, size: body.byteLength, sha256, by: ctx.writer, durationMs: Date.now() - started, replaced: false });
  }
  const location = `${ctx.baseUrl}/${ctx.repository}/manifests/${digest}`;
  return new Response(null, { status: 201, headers: { ...API_VERSION, location, "docker-content-digest": digest } });
}

/** DELETE …/manifests/{digest} removes the manifest and every tag on it; DELETE …/manifests/{tag} only the tag. */
async function deleteManifest(ctx: Push, reference: string, byDigest: boolean): Promise<Response> {
  if (!byDigest) {
    const deleted = await ctx.stores.locals.deleteTag(ctx.local.name, ctx.repository, reference);
    return deleted ? new Response(null, { status: 202, headers: API_VERSION }) : registryResponse(404, "MANIFEST_UNKNOWN", `${ctx.repository} has no tag '${reference}'`);
  }
  const removed = await ctx.stores.locals.unpublishVersion(ctx.local.name, ctx.repository, reference);
  if (!removed) return registryResponse(404, "MANIFEST_UNKNOWN", `${ctx.repository} has no manifest ${reference}`);
  await forgetFiles(ctx, removed);
  for (const file of removed) ctx.observer.uploadDeleted({ remote: ctx.local.name, path: file.path, size: file.size, sha256: file.sha256, by: ctx.writer });
  return new Response(null, { status: 202, headers: API_VERSION });
}

/** The body, up to MAX_MANIFEST bytes; null when it is longer. */
async function readManifestBody(request: Request): Promise<Uint8Array<ArrayBuffer> | null> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_MANIFEST) {
    await request.body?.cancel();
    return null;
  }
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let length = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > MAX_MANIFEST) {
      await reader.cancel();
      return null;
    }
    parts.push(value);
  }
  const body = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) body.set(part, (offset += part.byteLength) - part.byteLength);
  return body;
}

/** What a manifest is and refers to, or why it is not one. */
function manifestFacts(body: Uint8Array, contentType: string | null): ManifestFacts | string {
  let manifest: { mediaType?: unknown; schemaVersion?: unknown; config?: { digest?: unknown }; layers?: { digest?: unknown; urls?: unknown }[]; manifests?: { digest?: unknown }[] };
  try {
    manifest = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return "the manifest is not JSON";
  }
  if (typeof manifest !== "object" || manifest === null || manifest.schemaVersion !== 2) return "only schemaVersion 2 manifests (Docker v2, OCI) are accepted";
  const declared = typeof manifest.mediaType === "string" ? manifest.mediaType : null;
  const given = contentType?.split(";")[0]!.trim() || null;
  const mediaType = declared ?? given ?? (Array.isArray(manifest.manifests) ? "application/vnd.oci.image.index.v1+json" : "application/vnd.oci.image.manifest.v1+json");
  if (!(MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType)) return `unsupported manifest media type '${mediaType}'`;
  if (declared && given && given !== declared && given !== "application/json") return `Content-Type ${given} is not the manifest's mediaType ${declared}`;
  const digestOf = (descriptor: { digest?: unknown } | undefined) => (typeof descriptor?.digest === "string" && parseDigest(descriptor.digest) ? descriptor.digest : null);
  if (mediaType.includes("index") || mediaType.includes("list")) {
    if (!Array.isArray(manifest.manifests)) return "an index lists its manifests";
    const manifests = manifest.manifests.map(digestOf);
    if (manifests.some((digest) => digest === null)) return "every entry of manifests has a digest";
    return { mediaType, blobs: [], manifests: manifests as string[] };
  }
  const config = digestOf(manifest.config);
  if (!config || !Array.isArray(manifest.layers)) return "an image manifest has a config and layers, each with a digest";
  // Foreign layers (with urls, Windows base images) are not pushed to the registry.
  const layers = manifest.layers.filter((layer) => !Array.isArray(layer?.urls)).map(digestOf);
  if (layers.some((digest) => digest === null)) return "every layer has a digest";
  return { mediaType, blobs: [...new Set([config, ...(layers as string[])])], manifests: [] };
}

async function missingReferences(ctx: Push, facts: ManifestFacts): Promise<string[]> {
  const paths = [...facts.blobs.map((digest) => blobPath(ctx.repository, digest)), ...facts.manifests.map((digest) => manifestPath(ctx.repository, digest))];
  const digests = [...facts.blobs, ...facts.manifests];
  const found = await Promise.all(paths.map((path) => ctx.stores.locals.getLocalFile(ctx.local.name, path)));
  return digests.filter((_, i) => found[i] === null);
}

async function serveManifest(ctx: LocalRequest, repository: string, reference: string, byDigest: boolean): Promise<Response> {
  let digest = reference;
  if (!byDigest) {
    const state = await ctx.stores.locals.readPackage(ctx.local.name, repository);
    const tagged = state?.tags[reference];
    if (!tagged) return registryResponse(404, "MANIFEST_UNKNOWN", `${repository} has no tag '${reference}'`);
    digest = tagged;
  }
  const served = await serveLocalFile(ctx, ctx.local.name, manifestPath(repository, digest), ctx.request);
  if (!served) return registryResponse(404, "MANIFEST_UNKNOWN", `${repository} has no manifest ${digest}`);
  return withDigest(served, digest);
}

async function serveBlob(ctx: LocalRequest, repository: string, digest: string): Promise<Response> {
  const served = await serveLocalFile(ctx, ctx.local.name, blobPath(repository, digest), ctx.request);
  if (!served) return registryResponse(404, "BLOB_UNKNOWN", `${repository} has no blob ${digest}`);
  return withDigest(served, digest);
}

/** GET …/tags/list, in the spec's order (lexical), a page at a time with `n` and `last`. */
async function tagList(ctx: LocalRequest, repository: string): Promise<Response> {
  const state = await ctx.stores.locals.readPackage(ctx.local.name, repository);
  if (!state) return registryResponse(404, "NAME_UNKNOWN", `no repository '${repository}' in ${ctx.local.name}`);
  const query = new URL(ctx.request.url).searchParams;
  const last = query.get("last");
  const n = query.has("n") ? Number(query.get("n")) : Infinity;
  const all = Object.keys(state.tags).sort().filter((tag) => last === null || tag > last);
  const page = Number.isInteger(n) && n >= 0 ? all.slice(0, n) : all;
  const headers: Record<string, string> = { ...API_VERSION };
  if (page.length < all.length) headers.link = `<${ctx.baseUrl}/${repository}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}>; rel="next"`;
  return Response.json({ name: repository, tags: page }, { headers });
}

// ---- answers ----

function withDigest(response: Response, digest: string): Response {
  const headers = new Headers(response.headers);
  headers.set("docker-content-digest", digest);
  for (const [name, value] of Object.entries(API_VERSION)) headers.set(name, value);
  return new Response(response.body, { status: response.status, headers });
}

function blobCreated(ctx: Push, digest: string): Response {
  return new Response(null, { status: 201, headers: { ...API_VERSION, location: `${ctx.baseUrl}/${blobPath(ctx.repository, digest)}`, "docker-content-digest": digest } });
}

function sessionResponse(ctx: Push, id: string, size: number, status: 202 | 204): Response {
  // Range is inclusive; an empty upload says 0-0 as the distribution registry does.
  const range = `0-${Math.max(0, size - 1)}`;
  return new Response(null, { status, headers: { ...API_VERSION, location: sessionUrl(ctx, id), range, "docker-upload-uuid": id } });
}

function unknownSession(ctx: Push, id: string): Response {
  return registryResponse(404, "BLOB_UPLOAD_UNKNOWN", `${ctx.repository}: no upload session ${id} (finished, cancelled, or abandoned and swept)`);
}

function rangeInvalid(ctx: Push, session: UploadSession): Response {
  const response = registryResponse(416, "RANGE_INVALID", `the upload is at byte ${session.size}; send the chunk that starts there`);
  response.headers.set("location", sessionUrl(ctx, session.id));
  response.headers.set("range", `0-${Math.max(0, session.size - 1)}`);
  return response;
}

function digestInvalid(digest: string): Response {
  return registryResponse(400, "DIGEST_INVALID", `'${digest}' is not a sha256 digest this registry can check`);
}

function refused(ctx: LocalRequest, received: Extract<Received, { refused: unknown }>): Response {
  const { status, code, message } = received.refused;
  return registryResponse(status, code === "BODY_TOO_LARGE" ? "SIZE_INVALID" : "BLOB_UPLOAD_INVALID", `${ctx.local.name}: ${message}`);
}

function accessRefused(ctx: LocalRequest, access: { status: 401 | 403; message: string }): Response {
  if (access.status === 401) return challenge(ctx, access.message);
  return registryResponse(403, "DENIED", access.message);
}

/** docker login, skopeo --creds and crane answer a Basic challenge with the token as password. */
function challenge(ctx: LocalRequest, message: string): Response {
  const response = registryResponse(401, "UNAUTHORIZED", message);
  response.headers.set("www-authenticate", `Basic realm="artifactapi ${ctx.local.name}"`);
  return response;
}

function methodNotAllowed(allow: string): Response {
  const response = registryResponse(405, "UNSUPPORTED", `use ${allow} here`);
  response.headers.set("allow", allow);
  return response;
}

function registryResponse(status: number, code: RegistryErrorCode, message: string): Response {
  return Response.json(registryError(code, message), { status, headers: API_VERSION });
}

/** The hex of a `sha256:<64 hex>` digest; null for anything else. */
function sha256Of(digest: string): string | null {
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest.slice("sha256:".length) : null;
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
