import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { PackageState } from "../../../infra/meta/local-store.ts";
import { buildPackument, isTagName, readPublishDocument, tarballMismatch, tarballPath } from "../../../providers/npm-local.ts";

const tarball = Buffer.from("tarball bytes");
const digests = Object.fromEntries(["sha1", "sha256", "sha384", "sha512"].map((algorithm) => [algorithm, createHash(algorithm).update(tarball).digest("hex")])) as {
  sha1: string;
  sha256: string;
  sha384: string;
  sha512: string;
};
const sri = (algorithm: string, bytes: Buffer) => `${algorithm}-${createHash(algorithm).update(bytes).digest("base64")}`;

const publishBody = (overrides: Record<string, unknown> = {}) => ({
  _id: "@acme/widget",
  name: "@acme/widget",
  "dist-tags": { latest: "1.0.0" },
  versions: { "1.0.0": { name: "@acme/widget", version: "1.0.0", readme: "# widget", description: "a widget", dist: { integrity: sri("sha512", tarball), fileCount: 2, tarball: "http://x/y.tgz" } } },
  _attachments: { "@acme/widget-1.0.0.tgz": { content_type: "application/octet-stream", data: tarball.toString("base64"), length: tarball.length } },
  ...overrides,
});

describe("npm local: reading a publish document", () => {
  it("reads a new version, keeps dist's extra fields, moves the readme to the package", () => {
    const document = readPublishDocument("@acme/widget", publishBody());
    expect(document.kind).toBe("publish");
    if (document.kind !== "publish") return;
    expect(document.publish).toMatchObject({ version: "1.0.0", tags: { latest: "1.0.0" }, distExtras: { fileCount: 2 }, packageMetadata: { readme: "# widget", description: "a widget" } });
    expect(document.publish.manifest).not.toHaveProperty("readme");
    expect(document.publish.manifest).not.toHaveProperty("dist");
  });

  it("reads a packument without attachments as an edit", () => {
    const { _attachments, ...edit } = publishBody({ _rev: "3-local" });
    expect(readPublishDocument("@acme/widget", edit)).toMatchObject({ kind: "update", update: { rev: "3-local", tags: { latest: "1.0.0" } } });
  });

  it.each([
    ["another name", publishBody({ name: "other" }), /the URL for '@acme\/widget'/],
    ["two versions", publishBody({ versions: { "1.0.0": {}, "1.0.1": {} } }), /exactly one version/],
    ["not semver", publishBody({ versions: { "1.0": { name: "@acme/widget", version: "1.0" } } }), /not a valid semver/],
    ["a tag elsewhere", publishBody({ "dist-tags": { latest: "0.9.0" } }), /points at 0.9.0/],
    ["a tag like a version", publishBody({ "dist-tags": { "1.0": "1.0.0" } }), /not a valid dist-tag/],
    ["a wrong attachment", publishBody({ _attachments: { "x.tgz": { data: "" } } }), /one attachment/],
  ])("refuses %s", (_case, body, message) => {
    const document = readPublishDocument("@acme/widget", body);
    expect(document.kind).toBe("invalid");
    expect(document.kind === "invalid" && document.message).toMatch(message);
  });

  it("knows tags from versions", () => {
    expect(["latest", "next", "beta-2"].every(isTagName)).toBe(true);
    expect(["1.0.0", "v2", "", "-x"].some(isTagName)).toBe(false);
  });
});

describe("npm local: checking a tarball against its dist", () => {
  const declared = (fields: Partial<{ integrity: string; shasum: string; length: number }>) => ({ integrity: null, shasum: null, length: null, ...fields });

  it("accepts matching digests of every algorithm, several at once", () => {
    expect(tarballMismatch(declared({ integrity: `${sri("sha512", tarball)} ${sri("sha1", tarball)}`, shasum: digests.sha1, length: tarball.length }), tarball.length, digests)).toBeNull();
    expect(tarballMismatch(declared({ integrity: sri("sha256", tarball) }), tarball.length, digests)).toBeNull();
    expect(tarballMismatch(declared({}), tarball.length, digests)).toBeNull();
  });

  it("names what does not match", () => {
    const other = Buffer.from("other");
    expect(tarballMismatch(declared({ integrity: `${sri("sha512", tarball)} ${sri("sha1", other)}` }), tarball.length, digests)).toMatch(/sha1-.* does not match/);
    expect(tarballMismatch(declared({ shasum: "0".repeat(40) }), tarball.length, digests)).toMatch(/dist.shasum/);
    expect(tarballMismatch(declared({ length: 3 }), tarball.length, digests)).toMatch(/declares 3 bytes/);
    expect(tarballMismatch(declared({ integrity: "md5-abc" }), tarball.length, digests)).toMatch(/not a sha1/);
  });
});

describe("npm local: packuments from rows", () => {
  const at = new Date("2026-01-02T03:04:05Z");
  const file = (version: string) => ({
    local: "team",
    path: tarballPath("@acme/widget", version),
    sha256: "a".repeat(64),
    size: 10,
    contentType: "application/octet-stream",
    uploadedBy: "ci",
    uploadedAt: at,
    package: "@acme/widget",
    version,
    metadata: {},
  });
  const state: PackageState = {
    package: { local: "team", name: "@acme/widget", displayName: "@acme/widget", metadata: { readme: "# widget", description: "a widget" }, revision: 4, createdAt: at, updatedAt: at },
    versions: [
      { version: "1.0.0", metadata: { name: "@acme/widget", version: "1.0.0", description: "a widget", scripts: { postinstall: "x" }, dist: { integrity: "sha512-x" } }, publishedBy: "ci", publishedAt: at, deletedAt: null },
      { version: "1.1.0", metadata: { name: "@acme/widget", version: "1.1.0", dist: { integrity: "sha512-y" } }, publishedBy: "ci", publishedAt: at, deletedAt: at },
    ],
    tags: { latest: "1.0.0" },
    files: [file("1.0.0")],
  };

  it("builds the full packument with tarball links through the local, unpublished versions left out", () => {
    const full = buildPackument(state, { baseUrl: "https://dl.example.com/api/v1/local/team", abbreviated: false })!;
    expect(Object.keys(full.versions as object)).toEqual(["1.0.0"]);
    expect(full).toMatchObject({ _id: "@acme/widget", _rev: "4-local", readme: "# widget", description: "a widget", "dist-tags": { latest: "1.0.0" } });
    expect((full.versions as Record<string, { dist: object }>)["1.0.0"]!.dist).toEqual({ integrity: "sha512-x", tarball: "https://dl.example.com/api/v1/local/team/@acme/widget/-/widget-1.0.0.tgz" });
  });

  it("keeps only what installers read in the abbreviated one, and says when a version runs install scripts", () => {
    const short = buildPackument(state, { baseUrl: "https://h/l", abbreviated: true })!;
    expect(short).not.toHaveProperty("readme");
    expect((short.versions as Record<string, object>)["1.0.0"]).toEqual({ name: "@acme/widget", version: "1.0.0", dist: { integrity: "sha512-x", tarball: "https://h/l/@acme/widget/-/widget-1.0.0.tgz" }, hasInstallScript: true });
  });

  it("has no packument once every version is unpublished", () => {
    const gone = { ...state, versions: state.versions.map((version) => ({ ...version, deletedAt: at })), files: [] };
    expect(buildPackument(gone, { baseUrl: "https://h/l", abbreviated: false })).toBeNull();
  });
});
