import { describe, expect, it } from "vitest";
import type { FoundDocument, MemberDocument } from "../../../../providers/merge/members.ts";
import { mergePypiPages, pypiMergeStream, type SimpleFormat } from "../../../../providers/merge/pypi.ts";
import { base, expectSameInEveryPiece, failed, found, missing } from "./fixtures.ts";

const VIRTUAL = base("virtual", "py");
const JSON_TYPE = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE = "text/html";
const hex = (n: number) => String(n).repeat(64).slice(0, 64);

const page = (format: SimpleFormat, path = "simple/frob/") => ({ virtualBase: VIRTUAL, path, format });

/** A PEP 503 project page as a member's rewrite left it. */
function htmlPage(member: string, kind: "remote" | "local", anchors: string[]): FoundDocument {
  const body = `<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for frob</title></head>\n<body><h1>Links for frob</h1>\n${anchors.join("<br/>\n")}\n</body></html>\n`;
  return found(member, kind, body, HTML_TYPE);
}

const anchor = (member: string, kind: "remote" | "local", file: string, n: number, attributes = "") =>
  `<a href="${base(kind, member)}/packages/${file}#sha256=${hex(n)}"${attributes}>${file}</a>`;

/** A PEP 691 project page. */
function jsonPage(member: string, kind: "remote" | "local", files: Record<string, unknown>[], apiVersion = "1.0", versions?: string[]): FoundDocument {
  const body = JSON.stringify({ meta: { "api-version": apiVersion }, name: "frob", files, ...(versions ? { versions } : {}) });
  return found(member, kind, body, JSON_TYPE);
}

const jsonFile = (member: string, kind: "remote" | "local", file: string, n: number, extra: Record<string, unknown> = {}) => ({
  filename: file,
  url: `${base(kind, member)}/packages/${file}`,
  hashes: { sha256: hex(n) },
  ...extra,
});

/** The anchors of an HTML answer, as `[href, attributes…, text]`. */
function anchors(body: string): string[][] {
  return [...body.matchAll(/<a ([^>]*)>([^<]*)<\/a>/g)].map((match) => [...match[1]!.split(/ (?=[a-z-]+(?:=|$))/), match[2]!]);
}

const files = (body: string) => (JSON.parse(body) as { files: Record<string, unknown>[] }).files;

const pypiOrg = htmlPage("pypi", "remote", [
  anchor("pypi", "remote", "frob-1.0.tar.gz", 1, ' data-requires-python="&gt;=3.8"'),
  anchor("pypi", "remote", "frob-1.1-py3-none-any.whl", 2, ' data-yanked="broken build" data-core-metadata="sha256=' + hex(3) + '" data-dist-info-metadata="sha256=' + hex(3) + '"'),
]);
const mirror = htmlPage("mirror", "remote", [anchor("mirror", "remote", "frob-1.0.tar.gz", 7), anchor("mirror", "remote", "frob-2.0.tar.gz", 8, " data-yanked")]);

describe("PyPI project page merge", () => {
  it("unions files by filename, the first member winning, links through the virtual, every attribute kept", () => {
    const merged = mergePypiPages([pypiOrg, mirror], page("html"));
    expect(anchors(merged.body)).toEqual([
      [`href="${VIRTUAL}/packages/frob-1.0.tar.gz#sha256=${hex(1)}"`, 'data-requires-python="&gt;=3.8"', "frob-1.0.tar.gz"],
      [`href="${VIRTUAL}/packages/frob-1.1-py3-none-any.whl#sha256=${hex(2)}"`, 'data-yanked="broken build"', `data-core-metadata="sha256=${hex(3)}"`, `data-dist-info-metadata="sha256=${hex(3)}"`, "frob-1.1-py3-none-any.whl"],
      [`href="${VIRTUAL}/packages/frob-2.0.tar.gz#sha256=${hex(8)}"`, "data-yanked", "frob-2.0.tar.gz"],
    ]);
    expect(merged.body).toMatch(/^<!DOCTYPE html>[\s\S]*<title>Links for frob<\/title>[\s\S]*<\/html>\n$/);
    expect([...merged.routes]).toEqual([
      ["packages/frob-1.0.tar.gz", "pypi"],
      ["packages/frob-1.1-py3-none-any.whl", "pypi"],
      ["packages/frob-1.1-py3-none-any.whl.metadata", "pypi"],
      ["packages/frob-2.0.tar.gz", "mirror"],
    ]);
    expect(merged.outcome).toEqual({ status: "complete", served: ["pypi", "mirror"], failed: [], shadowed: [] });
  });

  it("merges PEP 691 pages, keeping each file object as written but its url", () => {
    const first = jsonPage("pypi", "remote", [jsonFile("pypi", "remote", "frob-1.0.tar.gz", 1, { "requires-python": ">=3.8", "core-metadata": { sha256: hex(4) }, size: 10 })]);
    const second = jsonPage("mirror", "remote", [jsonFile("mirror", "remote", "frob-1.0.tar.gz", 7), jsonFile("mirror", "remote", "frob-2.0.tar.gz", 8, { yanked: "oops" })]);
    const merged = mergePypiPages([first, second], page("json"));
    const doc = JSON.parse(merged.body) as Record<string, unknown>;
    expect(doc).toEqual({
      files: [
        { filename: "frob-1.0.tar.gz", url: `${VIRTUAL}/packages/frob-1.0.tar.gz`, hashes: { sha256: hex(1) }, "requires-python": ">=3.8", "core-metadata": { sha256: hex(4) }, size: 10 },
        { filename: "frob-2.0.tar.gz", url: `${VIRTUAL}/packages/frob-2.0.tar.gz`, hashes: { sha256: hex(8) }, yanked: "oops" },
      ],
      meta: { "api-version": "1.0" },
      name: "frob",
    });
    expect(merged.routes.get("packages/frob-1.0.tar.gz.metadata")).toBe("pypi");
  });

  it("answers in the form asked for whatever form each member answered in", () => {
    const json = jsonPage("local-py", "local", [jsonFile("local-py", "local", "frob-3.0-py3-none-any.whl", 5, { "requires-python": "<4,>=3.9", yanked: true, "core-metadata": true, "gpg-sig": false })]);
    const html = htmlPage("static", "remote", [anchor("static", "remote", "frob-1.0.tar.gz", 1, ' data-requires-python="&gt;=3.8" data-yanked="" data-dist-info-metadata="true" data-gpg-sig="true"')]);
    const asJson = mergePypiPages([json, html], { ...page("json"), mergeLocalsWithRemotes: true });
    expect(files(asJson.body)).toEqual([
      { filename: "frob-3.0-py3-none-any.whl", url: `${VIRTUAL}/packages/frob-3.0-py3-none-any.whl`, hashes: { sha256: hex(5) }, "requires-python": "<4,>=3.9", yanked: true, "core-metadata": true, "gpg-sig": false },
      { filename: "frob-1.0.tar.gz", url: `${VIRTUAL}/packages/frob-1.0.tar.gz`, hashes: { sha256: hex(1) }, "requires-python": ">=3.8", yanked: true, "dist-info-metadata": true, "gpg-sig": true },
    ]);
    const asHtml = mergePypiPages([json, html], { ...page("html"), mergeLocalsWithRemotes: true });
    expect(anchors(asHtml.body)).toEqual([
      [`href="${VIRTUAL}/packages/frob-3.0-py3-none-any.whl#sha256=${hex(5)}"`, 'data-requires-python="&lt;4,&gt;=3.9"', 'data-yanked=""', 'data-core-metadata="true"', "frob-3.0-py3-none-any.whl"],
      [`href="${VIRTUAL}/packages/frob-1.0.tar.gz#sha256=${hex(1)}"`, 'data-requires-python="&gt;=3.8"', 'data-yanked=""', 'data-dist-info-metadata="true"', 'data-gpg-sig="true"', "frob-1.0.tar.gz"],
    ]);
  });

  it("answers api-version 1.1 with the versions union only when every member in the merge did", () => {
    const a = jsonPage("a", "remote", [jsonFile("a", "remote", "frob-1.0.tar.gz", 1, { size: 1, "upload-time": "2024-01-01T00:00:00Z" })], "1.1", ["1.0", "0.9"]);
    const b = jsonPage("b", "remote", [jsonFile("b", "remote", "frob-2.0.tar.gz", 2, { size: 2, "upload-time": "2024-01-01T00:00:00Z" })], "1.1", ["2.0", "1.0"]);
    expect(JSON.parse(mergePypiPages([a, b], page("json")).body)).toMatchObject({ meta: { "api-version": "1.1" }, versions: ["1.0", "0.9", "2.0"] });
    const legacy = mergePypiPages([a, mirror], page("json"));
    expect(JSON.parse(legacy.body)).toMatchObject({ meta: { "api-version": "1.0" } });
    expect(JSON.parse(legacy.body)).not.toHaveProperty("versions");
  });

  it("reads an anchor whose quoted attribute holds a bare `>`, as hand-written indexes have", () => {
    const loose = found("static", "remote", `<a href='${base("remote", "static")}/frob-1.0.tar.gz' data-requires-python=">=3.8">frob-1.0.tar.gz</a>`, HTML_TYPE);
    expect(anchors(mergePypiPages([loose], page("html")).body)).toEqual([[`href="${VIRTUAL}/frob-1.0.tar.gz"`, 'data-requires-python="&gt;=3.8"', "frob-1.0.tar.gz"]]);
  });

  it("never lets a member's empty page hide another's files", () => {
    const empty = htmlPage("pypi", "remote", []);
    const merged = mergePypiPages([empty, mirror], page("html"));
    expect(anchors(merged.body).map((a) => a.at(-1))).toEqual(["frob-1.0.tar.gz", "frob-2.0.tar.gz"]);
    expect(merged.outcome.served).toEqual(["mirror"]);
  });

  it("names the project normalized, however the path spells it", () => {
    const merged = mergePypiPages([mirror], page("json", "simple/Frob_Utils.Extra/"));
    expect(JSON.parse(merged.body)).toMatchObject({ name: "frob-utils-extra" });
    expect(mergePypiPages([mirror], page("html", "simple/Frob_Utils.Extra/")).body).toContain("<title>Links for frob-utils-extra</title>");
  });

  it("gives the same merge however the pages arrive in pieces", () => {
    const documents: MemberDocument[] = [
      htmlPage("a", "remote", [anchor("a", "remote", "f-1.tar.gz", 1, " data-yanked")]),
      jsonPage("b", "remote", [jsonFile("b", "remote", "f-1.tar.gz", 2), jsonFile("b", "remote", "f-2.tar.gz", 3)]),
    ];
    for (const format of ["html", "json"] as const) expectSameInEveryPiece(() => pypiMergeStream(documents, page(format)), documents);
  });

  describe("dependency confusion", () => {
    const team = jsonPage("team", "local", [jsonFile("team", "local", "frob-0.1-py3-none-any.whl", 9)]);

    it("serves a project a local member has from the locals only, hiding higher remote versions", () => {
      const merged = mergePypiPages([pypiOrg, team, mirror], page("html"));
      expect(anchors(merged.body).map((a) => a.at(-1))).toEqual(["frob-0.1-py3-none-any.whl"]);
      expect(merged.outcome).toEqual({ status: "complete", served: ["team"], failed: [], shadowed: ["pypi", "mirror"] });
      expect([...merged.routes]).toEqual([["packages/frob-0.1-py3-none-any.whl", "team"]]);
    });

    it("merges them when the virtual says so", () => {
      const merged = mergePypiPages([pypiOrg, team], { ...page("html"), mergeLocalsWithRemotes: true });
      expect(anchors(merged.body).map((a) => a.at(-1))).toEqual(["frob-1.0.tar.gz", "frob-1.1-py3-none-any.whl", "frob-0.1-py3-none-any.whl"]);
    });

    it("does not let a local's empty page own the name", () => {
      const merged = mergePypiPages([jsonPage("team", "local", []), mirror], page("html"));
      expect(merged.outcome).toMatchObject({ served: ["mirror"], shadowed: [] });
    });
  });

  it("reports the members a partial page went without", () => {
    const merged = mergePypiPages([failed("pypi", "remote"), missing("team", "local"), mirror], page("json"));
    expect(files(merged.body).map((file) => file.filename)).toEqual(["frob-1.0.tar.gz", "frob-2.0.tar.gz"]);
    expect(merged.outcome).toEqual({ status: "partial", served: ["mirror"], failed: ["pypi"], shadowed: [] });
  });
});

describe("PyPI root index merge", () => {
  const rootHtml = (member: string, names: string[]) =>
    found(member, "remote", `<html><body>${names.map((name) => `<a href="${base("remote", member)}/simple/${name.toLowerCase()}/">${name}</a>`).join("\n")}</body></html>`, HTML_TYPE);
  const rootJson = (member: string, kind: "remote" | "local", names: string[]) =>
    found(member, kind, JSON.stringify({ meta: { "api-version": "1.0", "_last-serial": 5 }, projects: names.map((name) => ({ name, "_last-serial": 5 })) }), JSON_TYPE);

  it("unions project names by their normalized form, linking each to the virtual's page", () => {
    const merged = mergePypiPages([rootHtml("pypi", ["Frob", "requests"]), rootJson("team", "local", ["frob", "Team_Tool"])], page("html", "simple/"));
    expect(anchors(merged.body)).toEqual([
      [`href="${VIRTUAL}/simple/frob/"`, "Frob"],
      [`href="${VIRTUAL}/simple/requests/"`, "requests"],
      [`href="${VIRTUAL}/simple/team-tool/"`, "Team_Tool"],
    ]);
    // Names are not owned on the root index: every member is listed, and no route is made for pages.
    expect(merged.outcome).toEqual({ status: "complete", served: ["pypi", "team"], failed: [], shadowed: [] });
    expect(merged.routes.size).toBe(0);
  });

  it("answers PEP 691 with names only", () => {
    const merged = mergePypiPages([rootJson("a", "remote", ["x", "Y"]), rootHtml("b", ["y", "z"])], page("json", "simple/"));
    expect(JSON.parse(merged.body)).toEqual({ projects: [{ name: "x" }, { name: "Y" }, { name: "z" }], meta: { "api-version": "1.0" } });
  });
});
