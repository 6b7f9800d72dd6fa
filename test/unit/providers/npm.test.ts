import { describe, expect, it } from "vitest";
import { npm, npmDocumentStream } from "../../../providers/npm.ts";
import type { RewriteContext } from "../../../providers/types.ts";
import { context, expectSameInEveryPiece, rewriteInPieces } from "./context.ts";

const rewriteNpmDocument = (body: string, ctx: RewriteContext) => expectSameInEveryPiece(() => npmDocumentStream(ctx), body);

const INTEGRITY_1 = "sha512-" + Buffer.alloc(64, 1).toString("base64");
const INTEGRITY_2 = "sha512-" + Buffer.alloc(64, 2).toString("base64");

const PACKUMENT = JSON.stringify({
  _id: "@acme/widget",
  name: "@acme/widget",
  "dist-tags": { latest: "1.1.0" },
  versions: {
    "1.0.0": {
      name: "@acme/widget",
      version: "1.0.0",
      dist: {
        tarball: "https://registry.npmjs.org/@acme/widget/-/widget-1.0.0.tgz",
        shasum: "0123456789abcdef0123456789abcdef01234567",
        integrity: INTEGRITY_1,
      },
    },
    "1.1.0": {
      name: "@acme/widget",
      version: "1.1.0",
      dist: {
        tarball: "https://registry.npmjs.org/@acme/widget/-/widget-1.1.0.tgz",
        shasum: "89abcdef0123456789abcdef0123456789abcdef",
        integrity: INTEGRITY_2,
      },
    },
  },
  time: { "1.0.0": "2024-01-01T00:00:00.000Z", "1.1.0": "2024-02-01T00:00:00.000Z" },
});

const ctx = context("@acme%2fwidget", { upstreamBase: "https://registry.npmjs.org/" });

describe("npm classification", () => {
  it.each([
    ["lodash", "mutable"],
    ["@acme%2fwidget", "mutable"],
    ["@acme/widget", "mutable"],
    ["@acme/widget/-/widget-1.0.0.tgz", "immutable"],
    ["lodash/-/lodash-4.17.21.tgz", "immutable"],
    ["lodash/4.17.21", "immutable"],
    ["lodash/latest", "mutable"],
    ["-/ping", "mutable"],
    ["-/package/lodash/dist-tags", "mutable"],
    ["-/user/org.couchdb.user:alice", "denied"],
    ["-/whoami", "denied"],
    ["-/v1/login", "denied"],
    ["-/npm/v1/security/advisories/bulk", "denied"],
    ["-/npm/v1/security/audits/quick", "denied"],
    ["-/v1/search", "denied"],
    ["lodash/-rev/1-abc", "denied"],
    ["_files/registry.npmjs.org/x/-/x-1.0.0.tgz", "immutable"],
  ])("%s is %s", (path, kind) => {
    expect(npm.classify(path).kind).toBe(kind);
  });
});

describe("npm upstream Accept", () => {
  it("asks the upstream for the form the cache key names, whatever else the client sent", () => {
    // Lands on the full-document key (a tie keeps the default), so the upstream is asked for the full document.
    const mixed = "application/json, application/vnd.npm.install-v1+json";
    expect(npm.cacheKey("lodash", { accept: mixed })).toBe("lodash");
    expect(npm.upstreamAccept!("lodash", mixed)).toBe("application/json");
    const install = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
    expect(npm.cacheKey("lodash", { accept: install })).toBe("lodash#install-v1");
    expect(npm.upstreamAccept!("lodash", install)).toBe(install);
    // Whitespace before `=` is still a q-value: the abbreviated form ranks below the full one here.
    expect(npm.cacheKey("lodash", { accept: "application/vnd.npm.install-v1+json;q =0.1, application/json" })).toBe("lodash");
    expect(npm.upstreamAccept!("lodash/-/lodash-4.17.21.tgz", install)).toBeUndefined();
  });
});

describe("npm cache keys", () => {
  const install = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

  it("keeps the abbreviated and full packuments apart", () => {
    expect(npm.cacheKey("lodash", { accept: install })).not.toBe(npm.cacheKey("lodash", { accept: "application/json" }));
    expect(npm.cacheKey("lodash", { accept: null })).toBe(npm.cacheKey("lodash", { accept: "application/json" }));
  });

  it("gives every spelling of a scoped name one key", () => {
    const keys = ["@acme%2fwidget", "@acme%2Fwidget", "%40acme%2fwidget", "@acme/widget", "@acme/widget/"].map((path) =>
      npm.cacheKey(path, { accept: install }),
    );
    expect(new Set(keys).size).toBe(1);
  });

  it("ignores Accept for tarballs", () => {
    const path = "@acme/widget/-/widget-1.0.0.tgz";
    expect(npm.cacheKey(path, { accept: install })).toBe(npm.cacheKey(path, { accept: null }));
  });
});

describe("npm packument rewriting", () => {
  const { body, digests } = rewriteNpmDocument(PACKUMENT, ctx);
  const doc = JSON.parse(body);

  it("points every tarball at the proxy with an absolute https URL", () => {
    expect(doc.versions["1.0.0"].dist.tarball).toBe(
      "https://dl.example.com/api/v1/remote/r/@acme/widget/-/widget-1.0.0.tgz",
    );
    expect(doc.versions["1.1.0"].dist.tarball).toBe(
      "https://dl.example.com/api/v1/remote/r/@acme/widget/-/widget-1.1.0.tgz",
    );
  });

  it("never touches integrity or shasum, nor the rest of the document", () => {
    const original = JSON.parse(PACKUMENT);
    expect(doc.versions["1.0.0"].dist.integrity).toBe(INTEGRITY_1);
    expect(doc.versions["1.0.0"].dist.shasum).toBe(original.versions["1.0.0"].dist.shasum);
    expect(doc["dist-tags"]).toEqual(original["dist-tags"]);
    expect(doc.time).toEqual(original.time);
  });

  it("declares the integrity digests by the path the client will request", () => {
    expect(npm.classify("@acme/widget/-/widget-1.1.0.tgz").kind).toBe("immutable");
    expect(digests.get("@acme/widget/-/widget-1.1.0.tgz")).toEqual({ algorithm: "sha512", hex: "02".repeat(64) });
  });

  it("falls back to shasum and handles single version documents", () => {
    const version = JSON.stringify({
      name: "left-pad",
      version: "1.3.0",
      dist: { tarball: "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", shasum: "5b8a3a7765dfe001261dde915589e782f8c94d1e" },
    });
    const result = rewriteNpmDocument(version, context("left-pad/1.3.0", { upstreamBase: "https://registry.npmjs.org" }));
    expect(JSON.parse(result.body).dist.tarball).toBe("https://dl.example.com/api/v1/remote/r/left-pad/-/left-pad-1.3.0.tgz");
    expect(result.digests.get("left-pad/-/left-pad-1.3.0.tgz")).toEqual({
      algorithm: "sha1",
      hex: "5b8a3a7765dfe001261dde915589e782f8c94d1e",
    });
  });

  it("passes every other byte through as it was, whitespace and number spelling included", () => {
    const spaced = JSON.stringify(JSON.parse(PACKUMENT), null, 2).replace('"name": "@acme/widget"', '"name": "@acme/widget", "n": 1.50e3');
    const { body } = rewriteNpmDocument(spaced, ctx);
    expect(body.replaceAll("https://dl.example.com/api/v1/remote/r/", "https://registry.npmjs.org/")).toBe(spaced);
  });

  it("proxies tarballs on other hosts, and on other paths of the registry's host, through recorded _files/ links", () => {
    const gitlab = context("@acme%2fwidget", { upstreamBase: "https://gitlab.example.com/api/v4/projects/123/packages/npm/" });
    const elsewhere = PACKUMENT.replace(
      "https://registry.npmjs.org/@acme/widget/-/widget-1.0.0.tgz",
      "https://gitlab.example.com/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.0.0.tgz",
    ).replace("https://registry.npmjs.org/@acme/widget/-/widget-1.1.0.tgz", "https://cdn.example.net/widget-1.1.0.tgz?sig=abc");
    const { body, links, digests } = rewriteNpmDocument(elsewhere, gitlab);
    const doc = JSON.parse(body);
    const other = "_files/gitlab.example.com/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.0.0.tgz";
    expect(doc.versions["1.0.0"].dist.tarball).toBe(`https://dl.example.com/api/v1/remote/r/${other}`);
    expect(doc.versions["1.1.0"].dist.tarball).toBe("https://dl.example.com/api/v1/remote/r/_files/cdn.example.net/widget-1.1.0.tgz?sig=abc");
    expect(links).toEqual(
      new Map([
        [other, "https://gitlab.example.com/api/v4/projects/999/packages/npm/@acme/widget/-/widget-1.0.0.tgz"],
        ["_files/cdn.example.net/widget-1.1.0.tgz?sig=abc", "https://cdn.example.net/widget-1.1.0.tgz?sig=abc"],
      ]),
    );
    expect(digests.get("_files/cdn.example.net/widget-1.1.0.tgz?sig=abc")).toEqual({ algorithm: "sha512", hex: "02".repeat(64) });
  });

  it("refuses a document that is not JSON, or ends early", () => {
    expect(() => rewriteInPieces(npmDocumentStream(ctx), ["<html>"])).toThrow(/malformed/);
    expect(() => rewriteInPieces(npmDocumentStream(ctx), [PACKUMENT.slice(0, 100)])).toThrow(/ends early/);
    expect(() => rewriteInPieces(npmDocumentStream(ctx), ['{"a":1}{'])).toThrow(/malformed/);
  });

  it("rewrites packuments and version documents only", () => {
    expect(npm.rewriter!.rewrites("@acme%2fwidget")).toBe(true);
    expect(npm.rewriter!.rewrites("lodash/latest")).toBe(true);
    expect(npm.rewriter!.rewrites("lodash/-/lodash-4.17.21.tgz")).toBe(false);
    expect(npm.rewriter!.rewrites("-/ping")).toBe(false);
  });
});
