import { describe, expect, it } from "vitest";
import { MergeError, type MemberDocument } from "../../../../providers/merge/members.ts";
import { mergeNpmPackuments, npmMergeStream } from "../../../../providers/merge/npm.ts";
import { base, expectSameInEveryPiece, failed, found, missing } from "./fixtures.ts";

const VIRTUAL = base("virtual", "npm");
const ctx = { virtualBase: VIRTUAL, path: "@acme%2fwidget" };
const integrity = (n: number) => `sha512-${Buffer.alloc(64, n).toString("base64")}`;

/** A member's packument as its own rewrite left it: tarballs under the member's base. */
function packument(member: string, kind: "remote" | "local", versions: Record<string, number>, extra: Record<string, unknown> = {}) {
  const entries = Object.fromEntries(
    Object.entries(versions).map(([version, n]) => [
      version,
      {
        name: "@acme/widget",
        version,
        description: `from ${member}`,
        dist: { tarball: `${base(kind, member)}/@acme/widget/-/widget-${version}.tgz`, integrity: integrity(n), shasum: String(n).repeat(40).slice(0, 40) },
      },
    ]),
  );
  return JSON.stringify({ _id: "@acme/widget", _rev: `7-${member}`, name: "@acme/widget", description: `${member}'s widget`, ...extra, versions: entries });
}

const parsed = (body: string) => JSON.parse(body) as {
  versions: Record<string, { description: string; dist: { tarball: string; integrity: string; shasum: string } }>;
  "dist-tags": Record<string, string>;
  time?: Record<string, string>;
  modified?: string;
  [key: string]: unknown;
};

const mirror = found(
  "mirror",
  "remote",
  packument("mirror", "remote", { "1.0.0": 1, "1.1.0": 2 }, {
    "dist-tags": { latest: "1.1.0", next: "1.1.0" },
    time: { created: "2020-01-01T00:00:00.000Z", modified: "2024-01-01T00:00:00.000Z", "1.0.0": "2020-01-01T00:00:00.000Z", "1.1.0": "2021-01-01T00:00:00.000Z" },
    _attachments: {},
  }),
);
const npmjs = found(
  "npmjs",
  "remote",
  packument("npmjs", "remote", { "1.1.0": 9, "2.0.0": 3 }, {
    "dist-tags": { latest: "2.0.0", beta: "2.0.0" },
    time: { created: "2019-06-01T00:00:00.000Z", modified: "2025-01-01T00:00:00.000Z", "1.1.0": "2022-01-01T00:00:00.000Z", "2.0.0": "2025-01-01T00:00:00.000Z" },
    readme: "npmjs readme",
  }),
);

describe("npm packument merge", () => {
  it("unions versions, the first member winning a version both have, tarballs through the virtual and routed to their member", () => {
    const merged = mergeNpmPackuments([mirror, npmjs], ctx);
    const doc = parsed(merged.body);
    expect(Object.keys(doc.versions)).toEqual(["1.0.0", "1.1.0", "2.0.0"]);
    expect(doc.versions["1.1.0"]!.description).toBe("from mirror");
    expect(doc.versions["1.1.0"]!.dist).toEqual({ tarball: `${VIRTUAL}/@acme/widget/-/widget-1.1.0.tgz`, integrity: integrity(2), shasum: "2".repeat(40) });
    expect(doc.versions["2.0.0"]!.dist.tarball).toBe(`${VIRTUAL}/@acme/widget/-/widget-2.0.0.tgz`);
    expect([...merged.routes]).toEqual([
      ["@acme/widget/-/widget-1.0.0.tgz", "mirror"],
      ["@acme/widget/-/widget-1.1.0.tgz", "mirror"],
      ["@acme/widget/-/widget-2.0.0.tgz", "npmjs"],
    ]);
    expect(merged.outcome).toEqual({ status: "complete", served: ["mirror", "npmjs"], failed: [], shadowed: [] });
  });

  it("takes each dist-tag from the first member that defines it, and makes none up", () => {
    expect(parsed(mergeNpmPackuments([mirror, npmjs], ctx).body)["dist-tags"]).toEqual({ latest: "1.1.0", next: "1.1.0", beta: "2.0.0" });
    const untagged = found("plain", "remote", packument("plain", "remote", { "3.0.0": 4 }));
    expect(parsed(mergeNpmPackuments([untagged], ctx).body)["dist-tags"]).toEqual({});
  });

  it("unions time: the earliest created, the latest modified, a version's time from the member whose version won", () => {
    expect(parsed(mergeNpmPackuments([mirror, npmjs], ctx).body).time).toEqual({
      created: "2019-06-01T00:00:00.000Z",
      modified: "2025-01-01T00:00:00.000Z",
      "1.0.0": "2020-01-01T00:00:00.000Z",
      "1.1.0": "2021-01-01T00:00:00.000Z",
      "2.0.0": "2025-01-01T00:00:00.000Z",
    });
  });

  it("drops _rev and _attachments, and takes other fields from the first member that has them", () => {
    const doc = parsed(mergeNpmPackuments([mirror, npmjs], ctx).body);
    expect(doc).not.toHaveProperty("_rev");
    expect(doc).not.toHaveProperty("_attachments");
    expect(doc).toMatchObject({ _id: "@acme/widget", name: "@acme/widget", description: "mirror's widget", readme: "npmjs readme" });
  });

  it("merges abbreviated packuments: top-level modified is the latest", () => {
    const abbreviated = (member: string, versions: Record<string, number>, modified: string) => {
      const full = JSON.parse(packument(member, "remote", versions)) as { versions: Record<string, { name: string; version: string; dist: unknown }> };
      const slim = Object.fromEntries(Object.entries(full.versions).map(([v, m]) => [v, { name: m.name, version: m.version, dist: m.dist }]));
      return found(member, "remote", JSON.stringify({ name: "@acme/widget", modified, "dist-tags": { latest: Object.keys(versions).at(-1) }, versions: slim }));
    };
    const merged = mergeNpmPackuments([abbreviated("mirror", { "1.0.0": 1 }, "2024-05-01T00:00:00.000Z"), abbreviated("npmjs", { "2.0.0": 2 }, "2025-05-01T00:00:00.000Z")], ctx);
    const doc = parsed(merged.body);
    expect(doc).toEqual({
      versions: {
        "1.0.0": { name: "@acme/widget", version: "1.0.0", dist: expect.objectContaining({ tarball: `${VIRTUAL}/@acme/widget/-/widget-1.0.0.tgz` }) },
        "2.0.0": { name: "@acme/widget", version: "2.0.0", dist: expect.objectContaining({ tarball: `${VIRTUAL}/@acme/widget/-/widget-2.0.0.tgz` }) },
      },
      "dist-tags": { latest: "1.0.0" },
      modified: "2025-05-01T00:00:00.000Z",
      name: "@acme/widget",
    });
  });

  it("leaves every byte of a winning version as the member wrote it, except its tarball", () => {
    const raw = `{"versions":{"1.0.0":{"dist":{"tarball":"${base("remote", "npmjs")}/w/-/w-1.0.0.tgz","integrity":"sha512-AAAA"},"n":1.50,"u":"\\u00e9"}}}`;
    const merged = mergeNpmPackuments([found("npmjs", "remote", raw)], ctx);
    expect(merged.body).toContain(`"1.0.0":{"dist":{"tarball":"${VIRTUAL}/w/-/w-1.0.0.tgz","integrity":"sha512-AAAA"},"n":1.50,"u":"\\u00e9"}`);
  });

  it("gives the same merge however the documents arrive in pieces", () => {
    const small = (member: string, kind: "remote" | "local", version: string) =>
      found(member, kind, `{"_rev":"1","dist-tags":{"latest":"${version}"},"versions":{"${version}":{"dist":{"tarball":"${base(kind, member)}/w/-/w-${version}.tgz"}}},"time":{"modified":"2024-01-0${version[0]}T00:00:00Z"}}`);
    const documents = [small("a", "remote", "1.0.0"), small("b", "remote", "2.0.0"), small("c", "remote", "1.0.0")];
    const merged = expectSameInEveryPiece(() => npmMergeStream(documents, ctx), documents);
    expect(parsed(merged.body)).toMatchObject({ "dist-tags": { latest: "1.0.0" }, time: { modified: "2024-01-02T00:00:00Z" } });
  });

  describe("dependency confusion", () => {
    const team = found("team", "local", packument("team", "local", { "1.0.0": 5 }, { "dist-tags": { latest: "1.0.0" } }));

    it("serves a name a local member has from the locals only, hiding remote versions even higher ones", () => {
      const merged = mergeNpmPackuments([npmjs, team], ctx);
      const doc = parsed(merged.body);
      expect(Object.keys(doc.versions)).toEqual(["1.0.0"]);
      expect(doc["dist-tags"]).toEqual({ latest: "1.0.0" });
      expect(doc.versions["1.0.0"]!.dist.integrity).toBe(integrity(5));
      expect(doc).not.toHaveProperty("readme");
      expect([...merged.routes]).toEqual([["@acme/widget/-/widget-1.0.0.tgz", "team"]]);
      expect(merged.outcome).toEqual({ status: "complete", served: ["team"], failed: [], shadowed: ["npmjs"] });
    });

    it("merges locals with remotes in member order when the virtual says so", () => {
      const merged = mergeNpmPackuments([npmjs, team], { ...ctx, mergeLocalsWithRemotes: true });
      const doc = parsed(merged.body);
      expect(Object.keys(doc.versions)).toEqual(["1.1.0", "2.0.0", "1.0.0"]);
      expect(doc["dist-tags"]).toEqual({ latest: "2.0.0", beta: "2.0.0" });
      expect(merged.outcome.served).toEqual(["npmjs", "team"]);
    });

    it("does not read the remote documents at all when a local owns the name", () => {
      const stream = npmMergeStream([npmjs, team], ctx);
      const read: string[] = [];
      for (let member = stream.next(); member; member = stream.next()) {
        read.push(member.member.name);
        stream.write(member.body);
        stream.endMember();
      }
      stream.end();
      expect(read).toEqual(["team"]);
    });

    it("lets remotes through when the local's packument has no version", () => {
      const empty = found("team", "local", JSON.stringify({ name: "@acme/widget", "dist-tags": { latest: "9.9.9" }, versions: {} }));
      const merged = mergeNpmPackuments([empty, npmjs], ctx);
      expect(parsed(merged.body)["dist-tags"]).toEqual({ latest: "2.0.0", beta: "2.0.0" });
      expect(merged.outcome.served).toEqual(["npmjs"]);
    });
  });

  describe("members that fail or lack the package", () => {
    it("says which members a partial merge went without", () => {
      const merged = mergeNpmPackuments([failed("mirror", "remote"), missing("other", "remote"), npmjs], ctx);
      expect(Object.keys(parsed(merged.body).versions)).toEqual(["1.1.0", "2.0.0"]);
      expect(merged.outcome).toEqual({ status: "partial", served: ["npmjs"], failed: ["mirror"], shadowed: [] });
    });

    it("is unavailable, not an empty packument, when every member that might have it failed", () => {
      const documents: MemberDocument[] = [failed("mirror", "remote"), missing("npmjs", "remote")];
      expect(mergeNpmPackuments(documents, ctx).outcome.status).toBe("unavailable");
      expect(mergeNpmPackuments([missing("npmjs", "remote")], ctx).outcome.status).toBe("not-found");
    });

    it("names the member whose packument cannot be read", () => {
      const broken = found("mirror", "remote", '{"versions":{"1.0.0":{"dist":');
      expect(() => mergeNpmPackuments([npmjs, broken], ctx)).toThrow(MergeError);
      expect(() => mergeNpmPackuments([npmjs, broken], ctx)).toThrow(/member 'mirror'.*ends early/);
    });
  });

  it("leaves out a later version whose tarball path an earlier member already serves (its bytes would be the wrong ones)", () => {
    const odd = found("odd", "remote", `{"versions":{"1.0.0-x":{"dist":{"tarball":"${base("remote", "odd")}/@acme/widget/-/widget-1.0.0.tgz"}},"3.0.0":{"dist":{"tarball":"${base("remote", "odd")}/@acme/widget/-/widget-3.0.0.tgz"}}}}`);
    const merged = mergeNpmPackuments([mirror, odd], ctx);
    expect(Object.keys(parsed(merged.body).versions)).toEqual(["1.0.0", "1.1.0", "3.0.0"]);
    expect(merged.routes.get("@acme/widget/-/widget-1.0.0.tgz")).toBe("mirror");
  });
});
