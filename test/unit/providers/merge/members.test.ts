import { describe, expect, it } from "vitest";
import { MemberReader, relinker, Routes, type FoundDocument, type MemberDocument, type Ownership } from "../../../../providers/merge/members.ts";
import { base, failed, found, missing } from "./fixtures.ts";

/** Reads every member the reader names, with `entries` saying which documents list something; returns the reading order and outcome. */
function read(documents: MemberDocument[], ownership: Ownership, options: { merge?: boolean; empty?: string[] } = {}) {
  const reader = new MemberReader<FoundDocument>(documents, ownership, options.merge);
  const order: string[] = [];
  for (let member = reader.next(); member; member = reader.next()) {
    order.push(member.member.name);
    reader.done(!options.empty?.includes(member.member.name));
  }
  return { order, ...reader.outcome() };
}

describe("which members a merge reads, and what it says about the rest", () => {
  it("reads every member in order when names are not owned, and reports a complete merge", () => {
    const result = read([found("a", "remote", ""), found("team", "local", ""), found("b", "remote", "")], "none");
    expect(result).toEqual({ order: ["a", "team", "b"], status: "complete", served: ["a", "team", "b"], failed: [], shadowed: [] });
  });

  it("reads locals first when they may own the name, and leaves the remotes out when one does", () => {
    const result = read([found("npmjs", "remote", ""), found("team", "local", ""), failed("mirror", "remote")], "document");
    expect(result.order).toEqual(["team"]);
    // A failed remote would not have been served anyway: the merge is complete, not partial.
    expect(result).toMatchObject({ status: "complete", served: ["team"], failed: [], shadowed: ["npmjs", "mirror"] });
  });

  it("reads the remotes when no local has the name (a local's empty document does not own it)", () => {
    const result = read([found("team", "local", ""), found("npmjs", "remote", ""), missing("other", "local")], "document", { empty: ["team"] });
    expect(result).toMatchObject({ order: ["team", "npmjs"], status: "complete", served: ["npmjs"], shadowed: [] });
  });

  it("reads every member in member order when locals and remotes are merged", () => {
    const result = read([found("npmjs", "remote", ""), found("team", "local", "")], "document", { merge: true });
    expect(result).toMatchObject({ order: ["npmjs", "team"], served: ["npmjs", "team"], shadowed: [] });
  });

  it("is partial when a member that could have contributed failed, and names it", () => {
    const result = read([failed("npmjs", "remote"), found("mirror", "remote", "")], "document");
    expect(result).toMatchObject({ status: "partial", served: ["mirror"], failed: ["npmjs"] });
  });

  it("hides the remotes while a local is down: a private name must not fall through to a public one", () => {
    const result = read([failed("team", "local"), found("npmjs", "remote", "")], "document");
    expect(result).toMatchObject({ order: [], status: "unavailable", served: [], failed: ["team"], shadowed: ["npmjs"] });
    // Unless the virtual merges locals with remotes anyway.
    expect(read([failed("team", "local"), found("npmjs", "remote", "")], "document", { merge: true })).toMatchObject({ status: "partial", served: ["npmjs"], failed: ["team"] });
  });

  it("with names per entry (index.yaml), reads locals then remotes, hiding remotes only while a local is down", () => {
    expect(read([found("bitnami", "remote", ""), found("charts", "local", "")], "entries").order).toEqual(["charts", "bitnami"]);
    expect(read([found("bitnami", "remote", ""), failed("charts", "local")], "entries")).toMatchObject({ order: [], status: "unavailable", shadowed: ["bitnami"] });
  });

  it("is not-found when no member has the document, unavailable when all that might have failed", () => {
    expect(read([missing("a", "remote"), found("b", "remote", "")], "document", { empty: ["b"] }).status).toBe("not-found");
    expect(read([failed("a", "remote"), missing("b", "remote")], "document").status).toBe("unavailable");
  });

  it("refuses to go on while a document is still being read", () => {
    const reader = new MemberReader<FoundDocument>([found("a", "remote", ""), found("b", "remote", "")], "none");
    reader.next();
    expect(() => reader.next()).toThrow(/'a': its document was not ended/);
    expect(() => reader.outcome()).toThrow(/members left to read/);
  });
});

describe("links through the virtual", () => {
  const ctx = { virtualBase: `${base("virtual", "npm")}/`, path: "simple/frob/" };
  const relink = relinker(base("remote", "pypi"), ctx);

  it("points a link under the member at the same path under the virtual, keeping query and fragment", () => {
    expect(relink(`${base("remote", "pypi")}/packages/frob-1.0.tar.gz#sha256=ab`)).toEqual({
      href: `${base("virtual", "npm")}/packages/frob-1.0.tar.gz#sha256=ab`,
      route: { path: "packages/frob-1.0.tar.gz", query: "" },
    });
    expect(relink(`${base("remote", "pypi")}/_files/cdn.example.org/f.whl?sig=1`).route).toEqual({ path: "_files/cdn.example.org/f.whl", query: "?sig=1" });
  });

  it("resolves relative links against the document and writes them in full", () => {
    expect(relink("../../packages/frob-1.0.tar.gz").href).toBe(`${base("virtual", "npm")}/packages/frob-1.0.tar.gz`);
    expect(relink("/api/v1/remote/pypi/simple/frob/frob-1.0.whl").route?.path).toBe("simple/frob/frob-1.0.whl");
  });

  it("routes what the URL parser would: dot segments resolved, escapes and spaces as a client sends them", () => {
    const member = base("remote", "pypi");
    expect(relink(`${member}/a/./b/../c.whl#sha256=ab`)).toEqual({ href: `${base("virtual", "npm")}/a/c.whl#sha256=ab`, route: { path: "a/c.whl", query: "" } });
    expect(relink(`${member}/%40scope/x y.whl`).route?.path).toBe("%40scope/x%20y.whl");
    expect(relink(`${member}/x.whl#frag ment`).href).toBe(`${base("virtual", "npm")}/x.whl#frag%20ment`);
  });

  it("leaves links outside the member alone and routes them nowhere: another member, another host, not http, a dot segment out", () => {
    for (const href of [`${base("remote", "other")}/packages/x.whl`, "https://files.example.org/x.whl", "mailto:a@example.org", `${base("remote", "pypi")}/%2e%2e/other/x.whl`]) {
      expect(relink(href)).toEqual({ href, route: null });
    }
  });
});

describe("routes", () => {
  it("keeps a path with the first member that links it, and says when another member's entry would take it", () => {
    const routes = new Routes();
    const team = { name: "team", kind: "local" as const };
    const npmjs = { name: "npmjs", kind: "remote" as const };
    routes.add(["x/-/x-1.0.0.tgz"], team);
    expect(routes.free(["x/-/x-1.0.0.tgz"], team)).toBe(true);
    expect(routes.free(["x/-/x-2.0.0.tgz", "x/-/x-1.0.0.tgz"], npmjs)).toBe(false);
    routes.add(["x/-/x-1.0.0.tgz", "x/-/x-2.0.0.tgz"], npmjs);
    expect([...routes.map]).toEqual([
      ["x/-/x-1.0.0.tgz", "team"],
      ["x/-/x-2.0.0.tgz", "npmjs"],
    ]);
  });
});
