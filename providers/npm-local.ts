import type { Json, PackageState } from "../infra/meta/local-store.ts";
import { hexDigest } from "./digests.ts";

/**
 * An npm local's documents, generated from its rows (pure: rows in, JSON out) and the publish
 * document npm sends, read into what the rows need. npm's registry rules: a package name is
 * `name` or `@scope/name` (lower case, URL-safe), a version is exact semver and immutable.
 */

export const ABBREVIATED_TYPE = "application/vnd.npm.install-v1+json";

const PACKAGE_NAME = /^(?:@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The fields of a version an installer needs: npm's abbreviated ("corgi") packument keeps only these. */
const ABBREVIATED_FIELDS = [
  "name",
  "version",
  "deprecated",
  "dependencies",
  "optionalDependencies",
  "devDependencies",
  "bundleDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "acceptDependencies",
  "bin",
  "directories",
  "dist",
  "engines",
  "cpu",
  "os",
  "libc",
  "funding",
  "license",
  "_hasShrinkwrap",
  "hasInstallScript",
];
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall"];

export function isPackageName(name: string): boolean {
  return name.length <= 214 && PACKAGE_NAME.test(name);
}

export function isVersion(version: string): boolean {
  return version.length <= 256 && SEMVER.test(version);
}

/** A dist-tag must not look like a version or a range (npm refuses those, they would shadow versions). */
export function isTagName(tag: string): boolean {
  return TAG.test(tag) && !/^v?\d/.test(tag);
}

/** The tarball's path below the local: `name/-/name-1.0.0.tgz`, `@scope/name/-/name-1.0.0.tgz` (npm's own layout). */
export function tarballPath(name: string, version: string): string {
  return `${name}/-/${tarballName(name, version)}`;
}

export function tarballName(name: string, version: string): string {
  return `${name.slice(name.indexOf("/") + 1)}-${version}.tgz`;
}

/** A new version as `npm publish` sends it, checked; its tarball was taken out as it streamed (its data reads ""). */
export interface PublishRequest {
  version: string;
  /** The manifest to store (dist and readme taken out). */
  manifest: Json;
  /** What the client declared its tarball to be (`dist.integrity`, `dist.shasum`, the attachment's length). */
  declared: { integrity: string | null; shasum: string | null; length: number | null };
  /** Fields of dist kept as declared (fileCount, unpackedSize…). */
  distExtras: Json;
  tags: Record<string, string>;
  /** The attachment's name in `_attachments`. */
  attachment: string;
  /** Package-level fields for the full packument. */
  packageMetadata: Json;
}

/** A change to an existing package as npm sends it (deprecate, unpublish of one version): the whole packument, no attachments. */
export interface PackumentUpdate {
  rev: string | null;
  versions: Record<string, Json>;
  tags: Record<string, string>;
}

export type PublishDocument = { kind: "publish"; publish: PublishRequest } | { kind: "update"; update: PackumentUpdate } | { kind: "invalid"; message: string };

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Reads the body of `PUT /{package}` for the package `name` (from the URL). */
export function readPublishDocument(name: string, body: unknown): PublishDocument {
  if (!isObject(body)) return invalid("the body must be a JSON object (a packument)");
  if (body.name !== undefined && body.name !== name) return invalid(`the document is for '${String(body.name)}', the URL for '${name}'`);
  const versions = body.versions;
  if (!isObject(versions)) return invalid("the document has no versions object");
  const tags = body["dist-tags"] ?? {};
  if (!isObject(tags) || !Object.values(tags).every((value) => typeof value === "string")) return invalid("dist-tags must map tag names to versions");
  for (const tag of Object.keys(tags)) if (!isTagName(tag)) return invalid(`'${tag}' is not a valid dist-tag name`);
  const attachments = body._attachments;
  if (attachments === undefined || (isObject(attachments) && Object.keys(attachments).length === 0)) {
    const rev = typeof body._rev === "string" ? body._rev : null;
    for (const [version, manifest] of Object.entries(versions)) if (!isObject(manifest)) return invalid(`version ${version} is not an object`);
    return { kind: "update", update: { rev, versions: versions as Record<string, Json>, tags: tags as Record<string, string> } };
  }
  if (!isObject(attachments)) return invalid("_attachments must be an object");

  const published = Object.keys(versions);
  if (published.length !== 1) return invalid(`a publish carries exactly one version (this one has ${published.length})`);
  const version = published[0]!;
  if (!isVersion(version)) return invalid(`'${version}' is not a valid semver version`);
  const manifest = versions[version];
  if (!isObject(manifest)) return invalid(`version ${version} is not an object`);
  if (manifest.name !== name || manifest.version !== version) return invalid(`the manifest of ${version} names ${String(manifest.name)}@${String(manifest.version)}`);
  for (const [tag, target] of Object.entries(tags)) if (target !== version) return invalid(`dist-tag '${tag}' points at ${target}, not at the version published (${version})`);

  const names = Object.keys(attachments);
  // npm names it after the full name (`@scope/name-1.0.0.tgz`); other publishers after the tarball's file name.
  const accepted = [`${name}-${version}.tgz`, tarballName(name, version)];
  if (names.length !== 1 || !accepted.includes(names[0]!)) return invalid(`a publish carries one attachment, '${accepted[0]}' (this one has ${names.map((n) => `'${n}'`).join(", ") || "none"})`);
  const expected = names[0]!;
  const attachment = attachments[expected];
  if (!isObject(attachment) || typeof attachment.data !== "string") return invalid(`the attachment '${expected}' has no base64 data`);
  if (attachment.length !== undefined && (typeof attachment.length !== "number" || !Number.isSafeInteger(attachment.length))) return invalid("the attachment's length must be a number");

  const dist = isObject(manifest.dist) ? manifest.dist : {};
  const { integrity, shasum, tarball: _tarball, ...distExtras } = dist;
  if (integrity !== undefined && typeof integrity !== "string") return invalid("dist.integrity must be a string");
  if (shasum !== undefined && typeof shasum !== "string") return invalid("dist.shasum must be a string");
  const { dist: _dist, readme, _attachments, ...stored } = manifest;
  const packageMetadata: Json = {};
  const readmeText = typeof body.readme === "string" ? body.readme : typeof readme === "string" ? readme : undefined;
  if (readmeText !== undefined) packageMetadata.readme = readmeText;
  for (const field of ["description", "keywords", "license", "homepage", "repository", "bugs", "author", "maintainers"]) {
    if (stored[field] !== undefined) packageMetadata[field] = stored[field];
  }
  return {
    kind: "publish",
    publish: {
      version,
      manifest: stored,
      declared: { integrity: integrity ?? null, shasum: shasum ?? null, length: (attachment.length as number | undefined) ?? null },
      distExtras,
      tags: tags as Record<string, string>,
      attachment: expected,
      packageMetadata,
    },
  };
}

function invalid(message: string): PublishDocument {
  return { kind: "invalid", message };
}

/** Digests of a tarball as received, hex. */
export interface TarballDigests {
  sha1: string;
  sha256: string;
  sha384: string;
  sha512: string;
}

/**
 * Whether the tarball is the one the client declared: every digest of `dist.integrity` (SRI,
 * any of sha1/256/384/512), `dist.shasum` and the attachment's length must match. The reason
 * when one does not; null when all do.
 */
export function tarballMismatch(declared: PublishRequest["declared"], size: number, digests: TarballDigests): string | null {
  if (declared.length !== null && declared.length !== size) return `the attachment declares ${declared.length} bytes and has ${size}`;
  if (declared.shasum !== null && declared.shasum.toLowerCase() !== digests.sha1) return `dist.shasum is ${declared.shasum}, the tarball's sha1 is ${digests.sha1}`;
  if (declared.integrity !== null) {
    const tokens = declared.integrity.trim().split(/\s+/).filter((token) => token !== "");
    if (tokens.length === 0) return "dist.integrity is empty";
    for (const token of tokens) {
      const match = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token);
      if (!match) return `dist.integrity '${token}' is not a sha1, sha256, sha384 or sha512 integrity`;
      const algorithm = match[1] as keyof TarballDigests;
      const digest = hexDigest(algorithm, base64Hex(match[2]!));
      if (!digest || digest.hex !== digests[algorithm]) return `dist.integrity ${token} does not match the tarball (${integrityOf(algorithm, digests[algorithm])})`;
    }
  }
  return null;
}

/** `sha512-<base64>` of a hex digest. */
export function integrityOf(algorithm: string, hex: string): string {
  let binary = "";
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return `${algorithm}-${btoa(binary)}`;
}

function base64Hex(base64: string): string {
  try {
    return [...atob(base64)].map((char) => char.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return "";
  }
}

export interface PackumentOptions {
  /** The local's URL (no trailing slash), for tarball links. */
  baseUrl: string;
  abbreviated: boolean;
}

/** The packument of a package with live versions; null when every version is unpublished (npm answers 404 then). */
export function buildPackument(state: PackageState, options: PackumentOptions): Json | null {
  const { package: pkg } = state;
  const live = state.versions.filter((version) => version.deletedAt === null);
  if (live.length === 0) return null;
  const files = new Map(state.files.map((file) => [file.path, file]));
  const versions: Record<string, Json> = {};
  const time: Record<string, string> = { created: pkg.createdAt.toISOString(), modified: pkg.updatedAt.toISOString() };
  for (const version of live) {
    const manifest = version.metadata;
    const tarball = tarballPath(pkg.name, version.version);
    const file = files.get(tarball);
    const dist = { ...(manifest.dist as Json | undefined), tarball: `${options.baseUrl}/${tarball}` };
    const full: Json = { ...manifest, name: pkg.name, version: version.version, _id: `${pkg.name}@${version.version}`, dist };
    if (file === undefined) continue; // a version whose tarball row is gone is not installable: left out rather than served broken
    versions[version.version] = options.abbreviated ? abbreviate(full) : full;
    time[version.version] = version.publishedAt.toISOString();
  }
  const distTags = Object.fromEntries(Object.entries(state.tags).filter(([, version]) => version in versions));
  if (options.abbreviated) return { name: pkg.name, modified: pkg.updatedAt.toISOString(), "dist-tags": distTags, versions };
  const { readme, ...fields } = pkg.metadata;
  return {
    _id: pkg.name,
    _rev: revisionString(pkg.revision),
    name: pkg.name,
    ...fields,
    "dist-tags": distTags,
    versions,
    time,
    readme: typeof readme === "string" ? readme : "",
  };
}

/** npm echoes `_rev` back in `-rev/{rev}` paths and update bodies; it is the package's revision counter. */
export function revisionString(revision: number): string {
  return `${revision}-local`;
}

export function parseRevision(rev: string): number | null {
  const match = /^(\d+)(?:-.*)?$/.exec(rev);
  return match ? Number(match[1]) : null;
}

function abbreviate(manifest: Json): Json {
  const short: Json = {};
  for (const field of ABBREVIATED_FIELDS) if (manifest[field] !== undefined) short[field] = manifest[field];
  const scripts = manifest.scripts;
  if (short.hasInstallScript === undefined && typeof scripts === "object" && scripts !== null && INSTALL_SCRIPTS.some((name) => name in scripts)) short.hasInstallScript = true;
  return short;
}
