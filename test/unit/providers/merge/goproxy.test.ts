import { describe, expect, it } from "vitest";
import { compareGoVersions, mergeGoLatest, mergeGoVersionList } from "../../../../providers/merge/goproxy.ts";
import { MergeError } from "../../../../providers/merge/members.ts";
import { base, failed, found, missing } from "./fixtures.ts";

const VIRTUAL = base("virtual", "go");
const list = { virtualBase: VIRTUAL, path: "github.com/!acme/tool/@v/list" };
const latest = { virtualBase: VIRTUAL, path: "github.com/!acme/tool/@latest" };
const info = (version: string) => JSON.stringify({ Version: version, Time: "2024-01-01T00:00:00Z" });

describe("Go's version order", () => {
  it("sorts releases, pre-releases, pseudo-versions and +incompatible as golang.org/x/mod/semver does", () => {
    const versions = [
      "v1.10.0",
      "v1.2.0",
      "v2.0.0+incompatible",
      "v1.2.0-rc.1",
      "v0.0.0-20191109021931-daa7c04131f5",
      "v1.2.1-0.20200101000000-abcdefabcdef",
      "v1.2.0-rc.10",
      "v1.2.0-beta",
      "v0.0.0-20180101000000-000000000000",
      "v2.0.0",
    ];
    expect([...versions].sort(compareGoVersions)).toEqual([
      "v0.0.0-20180101000000-000000000000",
      "v0.0.0-20191109021931-daa7c04131f5",
      "v1.2.0-beta",
      "v1.2.0-rc.1",
      "v1.2.0-rc.10",
      "v1.2.0",
      "v1.2.1-0.20200101000000-abcdefabcdef",
      "v1.10.0",
      "v2.0.0",
      "v2.0.0+incompatible",
    ]);
  });

  it("puts invalid versions before every valid one", () => {
    expect(["v1.0.0", "latest", "1.0.0"].sort(compareGoVersions)).toEqual(["1.0.0", "latest", "v1.0.0"]);
  });
});

describe("goproxy @v/list merge", () => {
  it("unions the lists in Go's order and routes each version's files to the first member listing it", () => {
    const merged = mergeGoVersionList([found("goproxy", "remote", "v1.0.0\nv1.10.0\nv1.2.0\n"), found("athens", "remote", "v1.2.0\nv0.9.0-0.20200101000000-abcdefabcdef\nv1.3.0\n")], list);
    expect(merged.body).toBe("v0.9.0-0.20200101000000-abcdefabcdef\nv1.0.0\nv1.2.0\nv1.3.0\nv1.10.0\n");
    expect(merged.routes.get("github.com/!acme/tool/@v/v1.2.0.zip")).toBe("goproxy");
    expect(merged.routes.get("github.com/!acme/tool/@v/v1.3.0.info")).toBe("athens");
    expect(merged.routes.get("github.com/!acme/tool/@v/v1.3.0.mod")).toBe("athens");
    expect(merged.outcome).toEqual({ status: "complete", served: ["goproxy", "athens"], failed: [], shadowed: [] });
  });

  it("never lets a 404, a 410 or an empty list hide another member's versions", () => {
    const merged = mergeGoVersionList([missing("goproxy", "remote"), found("empty", "remote", ""), found("athens", "remote", "v1.0.0\n")], list);
    expect(merged.body).toBe("v1.0.0\n");
    expect(merged.outcome.served).toEqual(["athens"]);
  });

  it("reads each line's first field and skips lines that are not versions, as go does", () => {
    expect(mergeGoVersionList([found("a", "remote", "v1.0.0 2024-01-01T00:00:00Z\r\n\nnot-a-version\nv1.1\n")], list).body).toBe("v1.0.0\n");
  });

  it("serves a module a local lists from the locals only; remote versions come back when the virtual merges them", () => {
    const documents = [found("goproxy", "remote", "v1.0.0\nv9.0.0\n"), found("team", "local", "v0.1.0\n")];
    const owned = mergeGoVersionList(documents, list);
    expect(owned.body).toBe("v0.1.0\n");
    expect(owned.outcome).toMatchObject({ served: ["team"], shadowed: ["goproxy"] });
    expect(mergeGoVersionList(documents, { ...list, mergeLocalsWithRemotes: true }).body).toBe("v0.1.0\nv1.0.0\nv9.0.0\n");
  });

  it("reports a member that failed", () => {
    const merged = mergeGoVersionList([failed("goproxy", "remote"), found("athens", "remote", "v1.0.0\n")], list);
    expect(merged.outcome).toEqual({ status: "partial", served: ["athens"], failed: ["goproxy"], shadowed: [] });
  });
});

describe("goproxy @latest merge", () => {
  it("answers the highest Version across members, as that member wrote it, routed to it", () => {
    const merged = mergeGoLatest([found("a", "remote", info("v1.2.0")), missing("b", "remote"), found("c", "remote", info("v1.10.0-rc.1")), found("d", "remote", info("v1.9.0"))], latest);
    expect(merged.body).toBe(info("v1.10.0-rc.1"));
    expect(merged.routes.get("github.com/!acme/tool/@v/v1.10.0-rc.1.zip")).toBe("c");
    expect(merged.outcome.served).toEqual(["a", "c", "d"]);
  });

  it("keeps the first member's answer on a tie, and case-encodes the version in its routes", () => {
    const merged = mergeGoLatest([found("a", "remote", info("v1.0.0-RC")), found("b", "remote", info("v1.0.0-RC"))], latest);
    expect(merged.routes.get("github.com/!acme/tool/@v/v1.0.0-!r!c.info")).toBe("a");
  });

  it("prefers a local's @latest, even a lower one", () => {
    const merged = mergeGoLatest([found("goproxy", "remote", info("v9.0.0")), found("team", "local", info("v0.1.0"))], latest);
    expect(merged.body).toBe(info("v0.1.0"));
  });

  it("names the member whose @latest cannot be read", () => {
    expect(() => mergeGoLatest([found("a", "remote", "{")], latest)).toThrow(MergeError);
    expect(() => mergeGoLatest([found("a", "remote", '{"Version":"master"}')], latest)).toThrow(/member 'a'.*no valid Version/);
  });
});
