import { compare, parse } from "semver";
import { CANONICAL_VERSION, encodeModulePath } from "../goproxy.ts";
import { MemberReader, MergeError, parseMemberJson, Routes, type FoundDocument, type Member, type Merged, type MergeContext, type MemberDocument } from "./members.ts";

/**
 * Go module proxy documents merged for a virtual. `@v/list` is the union of the members' lists,
 * sorted in Go's version order; `@latest` is the highest `.info` across members. A member's
 * 404/410 (missing) or empty list never hides the others. A module a local member lists is served
 * from the locals only. Routes send `@v/<version>.info|.mod|.zip` to the first member that listed
 * the version (or whose `@latest` won); other versions go to the first member that has them
 * (`memberOrder`).
 */

/** A canonical Go version (`v1.2.3`, `v1.2.3-pre`, pseudo-versions, `+incompatible`), as `semver` reads it; null otherwise. */
function goVersion(version: string) {
  return CANONICAL_VERSION.test(version) ? parse(version.slice(1)) : null;
}

/**
 * Go's version order (golang.org/x/mod/semver.Compare): semantic version precedence, build
 * metadata (`+incompatible`) ignored, invalid versions before every valid one; equal ones by text.
 */
export function compareGoVersions(a: string, b: string): number {
  const left = goVersion(a);
  const right = goVersion(b);
  const order = left && right ? compare(left, right) : left ? 1 : right ? -1 : 0;
  return order !== 0 ? order : a < b ? -1 : a > b ? 1 : 0;
}

/** The module path (case-encoded, as in the URL) of a goproxy document path. */
function modulePath(path: string, endpoint: "@v/list" | "@latest"): string {
  if (!path.endsWith(`/${endpoint}`)) throw new Error(`${path} is not a module's ${endpoint}`);
  return path.slice(0, -endpoint.length - 1);
}

const versionFiles = (module: string, version: string) => ["info", "mod", "zip"].map((extension) => `${module}/@v/${encodeModulePath(version)}.${extension}`);

/** `@v/list` of every member, in the virtual's member order → the union, one version a line. */
export function mergeGoVersionList(documents: readonly MemberDocument[], ctx: MergeContext): Merged {
  const module = modulePath(ctx.path, "@v/list");
  const reader = new MemberReader<FoundDocument>(documents, "document", ctx.mergeLocalsWithRemotes);
  const listedBy = new Map<string, Member>();
  for (let found = reader.next(); found; found = reader.next()) {
    // `go` reads the first field of each line and skips lines that are not versions.
    const versions = found.body
      .split("\n")
      .map((line) => line.trim().split(/\s+/)[0] ?? "")
      .filter((version) => goVersion(version) !== null);
    for (const version of versions) if (!listedBy.has(version)) listedBy.set(version, found.member);
    reader.done(versions.length > 0);
  }
  const routes = new Routes();
  const versions = [...listedBy.keys()].sort(compareGoVersions);
  for (const version of versions) routes.add(versionFiles(module, version), listedBy.get(version)!);
  return { body: versions.map((version) => `${version}\n`).join(""), routes: routes.map, outcome: reader.outcome() };
}

/** `@latest` of every member → the `.info` with the highest Version (the first member's on a tie), as that member wrote it. */
export function mergeGoLatest(documents: readonly MemberDocument[], ctx: MergeContext): Merged {
  const module = modulePath(ctx.path, "@latest");
  const reader = new MemberReader<FoundDocument>(documents, "document", ctx.mergeLocalsWithRemotes);
  let best: { version: string; body: string; member: Member } | null = null;
  for (let found = reader.next(); found; found = reader.next()) {
    const info = parseMemberJson(found, "@latest");
    const version = typeof info === "object" && info !== null ? (info as { Version?: unknown }).Version : undefined;
    if (typeof version !== "string" || goVersion(version) === null) throw new MergeError(found.member.name, "@latest has no valid Version");
    if (!best || compareGoVersions(version, best.version) > 0) best = { version, body: found.body, member: found.member };
    reader.done(true);
  }
  const routes = new Routes();
  if (best) routes.add(versionFiles(module, best.version), best.member);
  return { body: best?.body ?? "", routes: routes.map, outcome: reader.outcome() };
}
