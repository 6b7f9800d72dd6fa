import type { LocalFile, PackageState } from "../../infra/meta/local-store.ts";
import { prefers } from "../../providers/accept.ts";
import { parsePackagePath } from "../../providers/npm.ts";
import {
  ABBREVIATED_TYPE,
  buildPackument,
  integrityOf,
  isPackageName,
  isTagName,
  isVersion,
  parseRevision,
  readPublishDocument,
  revisionString,
  tarballMismatch,
  tarballPath,
  type PackumentUpdate,
  type PublishRequest,
} from "../../providers/npm-local.ts";
import { mayReadRemote } from "../auth.ts";
import { releaseBlobs } from "../storage/content-address.ts";
import { writeAccess } from "./access.ts";
import { commitUploads, UploadLost } from "./commit.ts";
import { forgetFiles, serveLocalFile } from "./files.ts";
import type { LocalRequest, LocalType } from "./local-type.ts";
import { receivePublish, type ReceivedTarball, type TarballContents } from "./npm-publish.ts";
import { forgetPackage, readPackageForIndex } from "./package-cache.ts";
import { readBody } from "./upload.ts";

/**
 * `package: npm` locals: the registry API npm itself speaks. `npm publish` PUTs a packument with
 * the tarball as a base64 attachment (read as it streams, npm-publish.ts); deprecate and unpublish of one version PUT the edited
 * packument back (`…/-rev/{rev}`); unpublishing a package DELETEs it; dist-tags have their own
 * endpoints; `npm whoami` asks who the token is. Packuments are generated from the rows on
 * every read, those cached per package in the state store (package-cache.ts) and dropped by
 * every write, so nothing but Postgres has to survive for a package to be served.
 */
export const npmLocal: LocalType = {
  async handle(ctx) {
    const { method } = ctx.request;
    const path = ctx.path.replace(/\/+$/, "");
    if (path === "-/ping") return Response.json({});
    if (path === "-/whoami" && method === "GET") return whoami(ctx);
    const tags = /^-\/package\/(.+)\/dist-tags(?:\/([^/]+))?$/.exec(path);
    if (tags) return distTags(ctx, tags[1]!, tags[2] ?? null);
    if (path === "" || path.startsWith("-/")) return npmError(404, `${ctx.local.name}: ${path || "the registry root"} is not part of this registry's API`);
    const pkg = parsePackagePath(path);
    if (!pkg || !isPackageName(pkg.name)) return npmError(400, `'${path.split("/-")[0]}' is not a valid npm package name`);
    const { name, rest } = pkg;
    const rev = rest.length === 2 && rest[0] === "-rev" ? rest[1]! : null;
    if (method === "GET" || method === "HEAD") {
      if (rest.length === 0) return packument(ctx, name);
      if (rest.length === 2 && rest[0] === "-") return tarball(ctx, name, rest[1]!);
    }
    if (method === "PUT" && (rest.length === 0 || rev !== null)) return put(ctx, name, rev);
    if (method === "DELETE" && rev !== null) return unpublishPackage(ctx, name, rev);
    // unpublish of one version ends by deleting its tarball, which the packument update already removed.
    if (method === "DELETE" && rest.length === 4 && rest[0] === "-" && rest[2] === "-rev") return deleteTarball(ctx, name, rest[1]!);
    return npmError(405, `${ctx.local.name}: ${method} ${path} is not part of the npm registry API`);
  },
};

/** npm's own error shape: npm prints `error` after the status. */
function npmError(status: number, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: message }, { status, headers });
}

/** The writer, or npm's answer to a refusal (checked from the headers, before any body is read). */
async function writer(ctx: LocalRequest): Promise<string | Response> {
  const access = await writeAccess(ctx, (status, _code, message, headers) => npmError(status, message, headers));
  return "writer" in access ? access.writer : access.response;
}

function readDenied(ctx: LocalRequest): Response | null {
  if (mayReadRemote(ctx.local, ctx.env, ctx.request)) return null;
  return npmError(401, `${ctx.local.name}: this registry is private; set its read token as _authToken in .npmrc`, { "www-authenticate": `Basic realm="artifactapi ${ctx.local.name}"` });
}

async function whoami(ctx: LocalRequest): Promise<Response> {
  const who = await writer(ctx);
  return typeof who === "string" ? Response.json({ username: who }) : who;
}

async function packument(ctx: LocalRequest, name: string): Promise<Response> {
  const denied = readDenied(ctx);
  if (denied) return denied;
  const abbreviated = prefers(ctx.request.headers.get("accept"), [ABBREVIATED_TYPE], ["application/json"]);
  const state = await readPackageForIndex(ctx, ctx.local.name, name);
  const document = state && buildPackument(state, { baseUrl: ctx.baseUrl, abbreviated });
  if (!state || !document) return npmError(404, `${name}: not found in ${ctx.local.name}`);
  // The revision changes with every publish, tag and deprecation: what a client revalidates against.
  const etag = `"${state.package.revision}-${abbreviated ? "abbreviated" : "full"}"`;
  const headers = { etag, "cache-control": "no-cache", vary: "accept", "content-type": abbreviated ? ABBREVIATED_TYPE : "application/json" };
  if (ctx.request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  const body = JSON.stringify(document);
  return new Response(ctx.request.method === "HEAD" ? null : body, { headers });
}

async function tarball(ctx: LocalRequest, name: string, file: string): Promise<Response> {
  const denied = readDenied(ctx);
  if (denied) return denied;
  const served = await serveLocalFile(ctx, ctx.local.name, `${name}/-/${file}`, ctx.request);
  return served ?? npmError(404, `${name}/-/${file}: not found in ${ctx.local.name}`);
}

/** `npm publish` (a new version with its tarball), or an edited packument (deprecate, unpublish of one version). */
async function put(ctx: LocalRequest, name: string, rev: string | null): Promise<Response> {
  const started = Date.now();
  const who = await writer(ctx);
  if (typeof who !== "string") return who;
  const received = await receivePublish(ctx.stores, ctx.request, ctx.local.max_upload_size);
  if ("refused" in received) return npmError(received.refused.status, `${ctx.local.name}: ${received.refused.message}`);
  const { tarball } = received;
  try {
    const document = readPublishDocument(name, received.document);
    if (document.kind === "invalid") return npmError(400, `${name}: ${document.message}`);
    if (document.kind === "update") return await update(ctx, name, rev ?? document.update.rev, document.update, who);
    if (tarball?.name !== document.publish.attachment) return npmError(400, `${name}: the attachment '${document.publish.attachment}' has no base64 data`);
    return await publish(ctx, name, document.publish, tarball, who, started);
  } finally {
    // A committed tarball is at its content address by now: what is left at its upload key goes.
    if (tarball) await ctx.stores.blobs.delete(tarball.blob.key).catch(() => {});
  }
}

async function publish(ctx: LocalRequest, name: string, request: PublishRequest, tarball: ReceivedTarball, who: string, started: number): Promise<Response> {
  const { local, stores } = ctx;
  const { version } = request;
  const { blob, digests } = tarball;
  const mismatch = tarballMismatch(request.declared, blob.size, digests);
  if (mismatch) return npmError(400, `${name}@${version}: ${mismatch}; nothing was published`);
  const malformed = tarballProblem(tarball.contents, name, version);
  if (malformed) return npmError(400, `${name}@${version}: ${malformed}; nothing was published`);

  const path = tarballPath(name, version);
  const metadata = { ...request.manifest, dist: { ...request.distExtras, integrity: integrityOf("sha512", digests.sha512), shasum: digests.sha1 } };
  const file = { local: local.name, path, sha256: blob.sha256, size: blob.size, contentType: "application/octet-stream", uploadedBy: who };
  let outcome;
  try {
    outcome = await commitUploads(stores, [blob], (locked) =>
      locked.publishVersion({
        local: local.name,
        package: { name, displayName: name, metadata: request.packageMetadata },
        version,
        metadata,
        publishedBy: who,
        files: [file],
        tags: request.tags,
      }),
    );
  } catch (error) {
    if (error instanceof UploadLost) return npmError(503, `${local.name}: ${error.message}`, { "retry-after": "1" });
    throw error;
  }
  if (outcome.result === "exists") {
    // The tarball's bytes may now belong to nothing.
    await releaseBlobs(stores.blobs, stores.locals, [blob.sha256]);
    return npmError(409, `${name}@${version} was published before; a version can never be published again, even after an unpublish. Bump the version.`);
  }
  await forgetPackage(ctx, local.name, name);
  ctx.observer.uploadFinished({ remote: local.name, path, size: blob.size, sha256: blob.sha256, by: who, durationMs: Date.now() - started, replaced: false });
  return Response.json({ ok: true, id: name, rev: revisionString(outcome.revision) }, { status: 201 });
}

/** Why the tarball is not the package it is published as (not a gzipped tar, no package.json, another name or version); null when it is. */
function tarballProblem(contents: TarballContents, name: string, version: string): string | null {
  if ("problem" in contents) return contents.problem;
  const { packageJson } = contents;
  if (packageJson.name !== name || packageJson.version !== version) return `the tarball's package.json is ${String(packageJson.name)}@${String(packageJson.version)}`;
  return null;
}

/** The rows' revision and the one the client edited must agree: an edit made on an older packument would undo what came since. */
function revisionConflict(state: PackageState, rev: string | null): Response | null {
  if (rev === null || parseRevision(rev) === state.package.revision) return null;
  return npmError(409, `${state.package.name}: document update conflict (revision ${rev} is not the current ${revisionString(state.package.revision)}); fetch the package again and retry`);
}

/** An edited packument: versions left out are unpublished, `deprecated` messages and dist-tags take the values sent. */
async function update(ctx: LocalRequest, name: string, rev: string | null, edit: PackumentUpdate, who: string): Promise<Response> {
  const { locals } = ctx.stores;
  const local = ctx.local.name;
  const state = await locals.readPackage(local, name);
  const live = new Map((state?.versions ?? []).filter((version) => version.deletedAt === null).map((version) => [version.version, version]));
  if (!state || live.size === 0) return npmError(404, `${name}: not found in ${local}; publish it with its tarball`);
  const conflict = revisionConflict(state, rev);
  if (conflict) return conflict;
  for (const version of Object.keys(edit.versions)) {
    if (!live.has(version)) return npmError(400, `${name}@${version} is not published here; a new version is published with its tarball (npm publish)`);
  }
  for (const [tag, version] of Object.entries(edit.tags)) {
    if (!(version in edit.versions)) return npmError(400, `dist-tag '${tag}' points at ${version}, which is not a version of ${name}`);
  }

  const removed: LocalFile[] = [];
  for (const version of live.keys()) {
    if (version in edit.versions) continue;
    removed.push(...((await locals.unpublishVersion(local, name, version)) ?? []));
  }
  for (const [version, manifest] of Object.entries(edit.versions)) {
    const stored = live.get(version)!.metadata;
    const wanted = typeof manifest.deprecated === "string" && manifest.deprecated !== "" ? manifest.deprecated : undefined;
    if (wanted === stored.deprecated) continue;
    const { deprecated: _previous, ...rest } = stored;
    await locals.setVersionMetadata(local, name, version, wanted === undefined ? rest : { ...rest, deprecated: wanted });
  }
  for (const [tag, version] of Object.entries(edit.tags)) if (state.tags[tag] !== version) await locals.setTag(local, name, tag, version);
  for (const tag of Object.keys(state.tags)) if (!(tag in edit.tags)) await locals.deleteTag(local, name, tag);
  await forgetPackage(ctx, local, name);
  await forgetTarballs(ctx, removed, who);
  return Response.json({ ok: true, id: name });
}

/** `npm unpublish pkg --force` (or of its only version): every version goes, and none can come back. */
async function unpublishPackage(ctx: LocalRequest, name: string, rev: string): Promise<Response> {
  const who = await writer(ctx);
  if (typeof who !== "string") return who;
  const { locals } = ctx.stores;
  const state = await locals.readPackage(ctx.local.name, name);
  const live = (state?.versions ?? []).filter((version) => version.deletedAt === null);
  if (!state || live.length === 0) return npmError(404, `${name}: not found in ${ctx.local.name}`);
  const conflict = revisionConflict(state, rev);
  if (conflict) return conflict;
  const removed: LocalFile[] = [];
  for (const version of live) removed.push(...((await locals.unpublishVersion(ctx.local.name, name, version.version)) ?? []));
  await forgetPackage(ctx, ctx.local.name, name);
  await forgetTarballs(ctx, removed, who);
  return Response.json({ ok: true, id: name });
}

async function deleteTarball(ctx: LocalRequest, name: string, file: string): Promise<Response> {
  const who = await writer(ctx);
  if (typeof who !== "string") return who;
  const path = `${name}/-/${file}`;
  if (await ctx.stores.locals.getLocalFile(ctx.local.name, path)) {
    return npmError(400, `${path} belongs to a published version; unpublish the version (npm unpublish ${name}@<version>)`);
  }
  return Response.json({ ok: true });
}

/** An unpublished version's tarballs: their cached records and blobs go (files.ts), each one an event. */
async function forgetTarballs(ctx: LocalRequest, files: LocalFile[], who: string): Promise<void> {
  await forgetFiles(ctx, files);
  for (const file of files) ctx.observer.uploadDeleted({ remote: file.local, path: file.path, size: file.size, sha256: file.sha256, by: who });
}

/** `GET -/package/{pkg}/dist-tags`, `PUT|DELETE -/package/{pkg}/dist-tags/{tag}` (npm dist-tag ls|add|rm). */
async function distTags(ctx: LocalRequest, packageName: string, tag: string | null): Promise<Response> {
  const { method } = ctx.request;
  const { locals } = ctx.stores;
  const local = ctx.local.name;
  if (!isPackageName(packageName)) return npmError(400, `'${packageName}' is not a valid npm package name`);
  if (method === "GET" && tag === null) {
    const denied = readDenied(ctx);
    if (denied) return denied;
    const state = await readPackageForIndex(ctx, local, packageName);
    const document = state && buildPackument(state, { baseUrl: ctx.baseUrl, abbreviated: true });
    return document ? Response.json(document["dist-tags"]) : npmError(404, `${packageName}: not found in ${local}`);
  }
  if (tag === null || (method !== "PUT" && method !== "DELETE")) return npmError(405, "dist-tags are read with GET and set with PUT or DELETE on …/dist-tags/{tag}");
  const who = await writer(ctx);
  if (typeof who !== "string") return who;
  if (!isTagName(tag)) return npmError(400, `'${tag}' is not a valid dist-tag name (a tag must not look like a version)`);
  if (method === "DELETE") {
    if (tag === "latest") return npmError(400, "the latest tag cannot be removed; point it at another version instead");
    if (!(await locals.deleteTag(local, packageName, tag))) return npmError(404, `${packageName} has no dist-tag '${tag}'`);
    await forgetPackage(ctx, local, packageName);
    return Response.json({ ok: true });
  }
  const received = await readBody(ctx.request, 1024);
  if ("refused" in received) return npmError(400, "the body of a dist-tag PUT is the version as a JSON string");
  let version: unknown;
  try {
    version = JSON.parse(new TextDecoder().decode(received.bytes));
  } catch {
    version = null;
  }
  if (typeof version !== "string" || !isVersion(version)) return npmError(400, "the body of a dist-tag PUT is the version as a JSON string");
  if (!(await locals.setTag(local, packageName, tag, version))) return npmError(404, `${packageName}@${version} is not published in ${local}`);
  await forgetPackage(ctx, local, packageName);
  return Response.json({ ok: true, [tag]: version });
}
