import { describe, expect, it } from "vitest";
import { pypi, pypiIndexStream } from "../../../providers/pypi.ts";
import type { RewriteContext } from "../../../providers/types.ts";
import { context, expectSameInEveryPiece, rewriteInPieces } from "./context.ts";

const rewritePypiIndex = (body: string, ctx: RewriteContext) => expectSameInEveryPiece(() => pypiIndexStream(ctx), body);

const SHA_WHL = "a".repeat(64);
const SHA_SDIST = "b".repeat(64);
const SHA_META = "c".repeat(64);

const PEP503 = `<!DOCTYPE html>
<html>
  <head><meta name="pypi:repository-version" content="1.1"><title>Links for demo-pkg</title></head>
  <body>
    <h1>Links for demo-pkg</h1>
    <a href="https://files.pythonhosted.org/packages/12/34/demo_pkg-1.0-py3-none-any.whl#sha256=${SHA_WHL}" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=${SHA_META}" data-core-metadata="sha256=${SHA_META}">demo_pkg-1.0-py3-none-any.whl</a><br />
    <a href="https://files.pythonhosted.org/packages/56/78/demo-pkg-0.9.tar.gz#sha256=${SHA_SDIST}" data-requires-python="&gt;=3.7" data-yanked="broken build">demo-pkg-0.9.tar.gz</a><br />
  </body>
</html>`;

const PEP691 = JSON.stringify({
  meta: { "api-version": "1.1" },
  name: "demo-pkg",
  versions: ["0.9", "1.0"],
  files: [
    {
      filename: "demo_pkg-1.0-py3-none-any.whl",
      url: "https://files.pythonhosted.org/packages/12/34/demo_pkg-1.0-py3-none-any.whl",
      hashes: { sha256: SHA_WHL },
      "requires-python": ">=3.8",
      "core-metadata": { sha256: SHA_META },
      "dist-info-metadata": { sha256: SHA_META },
      yanked: false,
    },
    {
      filename: "demo-pkg-0.9.tar.gz",
      url: "https://files.pythonhosted.org/packages/56/78/demo-pkg-0.9.tar.gz",
      hashes: { sha256: SHA_SDIST, md5: "d41d8cd98f00b204e9800998ecf8427e" },
      "requires-python": ">=3.7",
      yanked: "broken build",
    },
  ],
});

const ctx = context("simple/demo-pkg/", {
  upstreamBase: "https://pypi.org",
  contentType: "text/html; charset=utf-8",
});
const WHL_PATH = "_files/files.pythonhosted.org/packages/12/34/demo_pkg-1.0-py3-none-any.whl";
const SDIST_PATH = "_files/files.pythonhosted.org/packages/56/78/demo-pkg-0.9.tar.gz";

describe("pypi classification", () => {
  it.each([
    ["simple/", "mutable"],
    ["simple/demo-pkg/", "mutable"],
    ["simple/Demo_Pkg", "mutable"],
    ["pypi/demo-pkg/json", "mutable"],
    [WHL_PATH, "immutable"],
    ["packages/12/34/demo_pkg-1.0-py3-none-any.whl", "immutable"],
    [`${WHL_PATH}.metadata`, "immutable"],
    ["_files/files.pythonhosted.org/../x", "denied"],
    ["legacy/", "denied"],
  ])("%s is %s", (path, kind) => {
    expect(pypi.classify(path).kind).toBe(kind);
  });
});

describe("pypi cache keys", () => {
  const pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

  it("gives the JSON and HTML forms different keys", () => {
    expect(pypi.cacheKey("simple/demo-pkg/", { accept: pip })).not.toBe(
      pypi.cacheKey("simple/demo-pkg/", { accept: "text/html" }),
    );
    expect(pypi.cacheKey("simple/demo-pkg/", { accept: null })).toBe(
      pypi.cacheKey("simple/demo-pkg/", { accept: "text/html" }),
    );
  });

  it("gives every spelling of a project name one key", () => {
    const keys = ["simple/Demo_Pkg/", "simple/demo.pkg/", "simple/demo--_pkg", "simple/DEMO-PKG/"].map((path) =>
      pypi.cacheKey(path, { accept: pip }),
    );
    expect(new Set(keys)).toEqual(new Set(["simple/demo-pkg/#json"]));
  });

  it("leaves file paths alone", () => {
    expect(pypi.cacheKey(WHL_PATH, { accept: pip })).toBe(WHL_PATH);
  });

  it("asks the upstream for the form the key names, not what the client sent", () => {
    expect(pypi.upstreamAccept!("simple/demo-pkg/", pip)).toMatch(/^application\/vnd\.pypi\.simple\.v1\+json,/);
    expect(pypi.upstreamAccept!("simple/demo-pkg/", "text/html")).toBe("application/vnd.pypi.simple.v1+html, text/html;q=0.9");
    expect(pypi.upstreamAccept!("simple/demo-pkg/", "application/vnd.pypi.simple.v1+json ; q = 0.5, text/html")).toMatch(/html, text/);
    expect(pypi.upstreamAccept!(WHL_PATH, pip)).toBeUndefined();
  });
});

describe("pypi HTML rewriting (PEP 503)", () => {
  const { body, digests, links } = rewritePypiIndex(PEP503, ctx);

  it("points file links at the proxy over https and keeps the hash fragment", () => {
    expect(body).toContain(`href="https://dl.example.com/api/v1/remote/r/${WHL_PATH}#sha256=${SHA_WHL}"`);
    expect(body).toContain(`href="https://dl.example.com/api/v1/remote/r/${SDIST_PATH}#sha256=${SHA_SDIST}"`);
    expect(body).not.toContain('href="https://files.pythonhosted.org');
  });

  it("keeps requires-python, yanked and core-metadata attributes as they were", () => {
    expect(body).toContain('data-requires-python="&gt;=3.8"');
    expect(body).toContain('data-yanked="broken build"');
    expect(body).toContain(`data-core-metadata="sha256=${SHA_META}"`);
    expect(body).toContain(`data-dist-info-metadata="sha256=${SHA_META}"`);
    expect(body).toContain("<title>Links for demo-pkg</title>");
  });

  it("declares the digests of the files and of the advertised metadata", () => {
    expect(digests.get(WHL_PATH)).toEqual({ algorithm: "sha256", hex: SHA_WHL });
    expect(digests.get(SDIST_PATH)).toEqual({ algorithm: "sha256", hex: SHA_SDIST });
    expect(digests.get(`${WHL_PATH}.metadata`)).toEqual({ algorithm: "sha256", hex: SHA_META });
  });

  it("records the upstream URL of every file, and of the advertised metadata, so they are served", () => {
    expect(links).toEqual(
      new Map([
        [WHL_PATH, "https://files.pythonhosted.org/packages/12/34/demo_pkg-1.0-py3-none-any.whl"],
        [`${WHL_PATH}.metadata`, "https://files.pythonhosted.org/packages/12/34/demo_pkg-1.0-py3-none-any.whl.metadata"],
        [SDIST_PATH, "https://files.pythonhosted.org/packages/56/78/demo-pkg-0.9.tar.gz"],
      ]),
    );
  });

  it("keeps http when the proxy is reached over http", () => {
    const local = rewritePypiIndex(PEP503, { ...ctx, proxyBase: "http://127.0.0.1:8787/api/v1/remote/pypi/" });
    expect(local.body).toContain(`href="http://127.0.0.1:8787/api/v1/remote/pypi/${WHL_PATH}#sha256=`);
  });

  it("rewrites the root index's host-absolute project links", () => {
    const root = rewritePypiIndex('<a href="/simple/demo-pkg/">demo-pkg</a>', { ...ctx, path: "simple/" });
    expect(root.body).toBe('<a href="https://dl.example.com/api/v1/remote/r/simple/demo-pkg/">demo-pkg</a>');
  });

  it("leaves relative links inside the remote as they were, and proxies links to any other host", () => {
    const page = `<a href="../../packages/demo-1.0.whl#sha256=${SHA_WHL}">a</a><a href='https://elsewhere.example.net/x.whl'>b</a>`;
    const result = rewritePypiIndex(page, ctx);
    expect(result.body).toBe(
      `<a href="../../packages/demo-1.0.whl#sha256=${SHA_WHL}">a</a><a href="https://dl.example.com/api/v1/remote/r/_files/elsewhere.example.net/x.whl">b</a>`,
    );
    expect(result.digests.get("packages/demo-1.0.whl")).toEqual({ algorithm: "sha256", hex: SHA_WHL });
    expect(result.links).toEqual(new Map([["_files/elsewhere.example.net/x.whl", "https://elsewhere.example.net/x.whl"]]));
  });

  it("holds an anchor cut across pieces until its end arrives, and nothing else", () => {
    const stream = pypiIndexStream(ctx);
    expect(stream.write('<p>x</p><a href="https://files.pythonhosted.org/')).toBe("<p>x</p>");
    expect(stream.write('a.whl">a</a>')).toBe('<a href="https://dl.example.com/api/v1/remote/r/_files/files.pythonhosted.org/a.whl">a</a>');
    expect(stream.write("<abbr>")).toBe("<abbr>");
    expect(stream.end()).toBe("");
  });
});

describe("pypi JSON rewriting (PEP 691)", () => {
  const { body, digests, links } = rewritePypiIndex(PEP691, { ...ctx, contentType: "application/vnd.pypi.simple.v1+json" });
  const page = JSON.parse(body);

  it("points file URLs at the proxy and keeps the other fields", () => {
    expect(page.files[0].url).toBe(`https://dl.example.com/api/v1/remote/r/${WHL_PATH}`);
    expect(page.files[0]["requires-python"]).toBe(">=3.8");
    expect(page.files[0]["core-metadata"]).toEqual({ sha256: SHA_META });
    expect(page.files[1].yanked).toBe("broken build");
    expect(page.files[1].hashes).toEqual({ sha256: SHA_SDIST, md5: "d41d8cd98f00b204e9800998ecf8427e" });
    expect(page.versions).toEqual(["0.9", "1.0"]);
  });

  it("declares sha256 digests for files and metadata, and records their URLs", () => {
    expect(digests.get(SDIST_PATH)).toEqual({ algorithm: "sha256", hex: SHA_SDIST });
    expect(digests.get(`${WHL_PATH}.metadata`)).toEqual({ algorithm: "sha256", hex: SHA_META });
    expect([...links.keys()]).toEqual([WHL_PATH, `${WHL_PATH}.metadata`, SDIST_PATH]);
  });

  it("promises metadata for `core-metadata: true` without a digest", () => {
    const page = JSON.stringify({ files: [{ url: "https://files.pythonhosted.org/a.whl", hashes: {}, "core-metadata": true }] });
    const result = rewriteInPieces(pypiIndexStream({ ...ctx, contentType: "application/vnd.pypi.simple.v1+json" }), [page]);
    expect([...result.links.keys()]).toEqual(["_files/files.pythonhosted.org/a.whl", "_files/files.pythonhosted.org/a.whl.metadata"]);
    expect(result.digests.size).toBe(0);
  });
});
