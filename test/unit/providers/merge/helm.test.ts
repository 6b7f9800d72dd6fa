import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { mergeHelmIndex } from "../../../../providers/merge/helm.ts";
import { MergeError } from "../../../../providers/merge/members.ts";
import { base, failed, found, missing } from "./fixtures.ts";

const VIRTUAL = base("virtual", "charts");
const NOW = new Date("2025-06-01T12:00:00.000Z");
const ctx = { virtualBase: VIRTUAL, path: "index.yaml", now: NOW };
const digest = (n: number) => `${n}abcdef`.repeat(10).slice(0, 64);

/** An index.yaml as Helm writes it (block style, sequences at their key's column), links under the member. */
function index(member: string, kind: "remote" | "local", charts: Record<string, [version: string, n: number][]>, relative = false): string {
  let text = "apiVersion: v1\nentries:\n";
  for (const [chart, versions] of Object.entries(charts)) {
    text += `  ${chart}:\n`;
    for (const [version, n] of versions) {
      const url = relative ? `charts/${chart}-${version}.tgz` : `${base(kind, member)}/charts/${chart}-${version}.tgz`;
      text += `  - apiVersion: v2\n    appVersion: 1.10\n    created: "2024-01-0${n % 9}T00:00:00Z"\n    description: ${chart} from ${member}\n    digest: ${digest(n)}\n    name: ${chart}\n    urls:\n    - ${url}\n    version: ${version}\n`;
    }
  }
  return `${text}generated: "2024-01-01T00:00:00Z"\nserverInfo:\n  contextPath: /${member}\n`;
}

interface Index {
  apiVersion: string;
  generated: string;
  entries: Record<string, { version: string; urls: string[]; digest: string; description: string; appVersion: unknown }[]>;
  serverInfo?: unknown;
}

const bitnami = found("bitnami", "remote", index("bitnami", "remote", { nginx: [["15.0.0", 1], ["14.0.0", 2]], redis: [["18.0.0", 3]] }));
const mirror = found("mirror", "remote", index("mirror", "remote", { nginx: [["15.0.0", 4], ["13.0.0", 5]], postgres: [["12.0.0", 6]] }));

describe("helm index.yaml merge", () => {
  it("merges entries per chart and version, the first member winning, urls through the virtual and routed, digests kept", () => {
    const merged = mergeHelmIndex([bitnami, mirror], ctx);
    const doc = parse(merged.body) as Index;
    expect(Object.keys(doc.entries)).toEqual(["nginx", "redis", "postgres"]);
    expect(doc.entries.nginx!.map((entry) => [entry.version, entry.digest, entry.urls])).toEqual([
      ["15.0.0", digest(1), [`${VIRTUAL}/charts/nginx-15.0.0.tgz`]],
      ["14.0.0", digest(2), [`${VIRTUAL}/charts/nginx-14.0.0.tgz`]],
      ["13.0.0", digest(5), [`${VIRTUAL}/charts/nginx-13.0.0.tgz`]],
    ]);
    expect(merged.routes.get("charts/nginx-15.0.0.tgz")).toBe("bitnami");
    expect(merged.routes.get("charts/nginx-13.0.0.tgz")).toBe("mirror");
    expect(merged.routes.get("charts/postgres-12.0.0.tgz")).toBe("mirror");
    expect(merged.outcome).toEqual({ status: "complete", served: ["bitnami", "mirror"], failed: [], shadowed: [] });
  });

  it("sets generated to the merge's time and writes apiVersion v1", () => {
    const doc = parse(mergeHelmIndex([bitnami, mirror], ctx).body) as Index;
    expect(doc.generated).toBe("2025-06-01T12:00:00.000Z");
    expect(doc.apiVersion).toBe("v1");
  });

  it("keeps every other field of an entry as written: numbers keep their digits, quoted strings stay strings", () => {
    const body = `apiVersion: v1\nentries:\n  app:\n  - version: 1.0.0\n    appVersion: 1.10\n    kubeVersion: ">=1.20"\n    description: "true"\n    annotations:\n      build: "0012"\n      n: 0x1F\n    deprecated: false\n    urls: [charts/app-1.0.0.tgz]\n    digest: ${digest(7)}\n`;
    const merged = mergeHelmIndex([found("team", "local", body)], ctx);
    expect(merged.body).toContain("appVersion: 1.10\n");
    expect(merged.body).toContain("n: 0x1F\n");
    const entry = (parse(merged.body) as { entries: { app: Record<string, unknown>[] } }).entries.app[0]!;
    expect(entry).toMatchObject({ kubeVersion: ">=1.20", description: "true", annotations: { build: "0012" }, deprecated: false, digest: digest(7), urls: [`${VIRTUAL}/charts/app-1.0.0.tgz`] });
  });

  it("writes relative chart urls in full through the virtual (they resolve against the member's index)", () => {
    const merged = mergeHelmIndex([found("team", "local", index("team", "local", { app: [["1.0.0", 1]] }, true))], { ...ctx, path: "stable/index.yaml" });
    expect((parse(merged.body) as Index).entries.app![0]!.urls).toEqual([`${VIRTUAL}/stable/charts/app-1.0.0.tgz`]);
    expect([...merged.routes]).toEqual([["stable/charts/app-1.0.0.tgz", "team"]]);
  });

  it("reads a JSON index.yaml too", () => {
    const json = found("s3", "remote", JSON.stringify({ apiVersion: "v1", entries: { app: [{ version: "2.0.0", digest: digest(8), urls: [`${base("remote", "s3")}/app-2.0.0.tgz`] }] } }));
    expect((parse(mergeHelmIndex([json], ctx).body) as Index).entries.app![0]!.urls).toEqual([`${VIRTUAL}/app-2.0.0.tgz`]);
  });

  describe("dependency confusion", () => {
    const team = found("team", "local", index("team", "local", { nginx: [["0.1.0", 9]] }));

    it("serves a chart a local has from the locals only, and the remotes' other charts as usual", () => {
      const merged = mergeHelmIndex([bitnami, team, mirror], ctx);
      const doc = parse(merged.body) as Index;
      expect(doc.entries.nginx!.map((entry) => entry.version)).toEqual(["0.1.0"]);
      expect(Object.keys(doc.entries).sort()).toEqual(["nginx", "postgres", "redis"]);
      expect(merged.outcome).toEqual({ status: "complete", served: ["bitnami", "team", "mirror"], failed: [], shadowed: ["bitnami", "mirror"] });
    });

    it("merges a local's chart with the remotes' when the virtual says so, in member order", () => {
      const doc = parse(mergeHelmIndex([bitnami, team], { ...ctx, mergeLocalsWithRemotes: true }).body) as Index;
      expect(doc.entries.nginx!.map((entry) => entry.version)).toEqual(["15.0.0", "14.0.0", "0.1.0"]);
    });

    it("hides every remote chart while a local is down", () => {
      const merged = mergeHelmIndex([bitnami, failed("team", "local")], ctx);
      expect(merged.outcome).toEqual({ status: "unavailable", served: [], failed: ["team"], shadowed: ["bitnami"] });
    });
  });

  it("reports a member that failed; a missing or empty index hides nothing", () => {
    const empty = found("empty", "remote", "apiVersion: v1\nentries: {}\n");
    const merged = mergeHelmIndex([failed("bitnami", "remote"), missing("gone", "remote"), empty, mirror], ctx);
    expect(Object.keys((parse(merged.body) as Index).entries)).toEqual(["nginx", "postgres"]);
    expect(merged.outcome).toEqual({ status: "partial", served: ["mirror"], failed: ["bitnami"], shadowed: [] });
  });

  it.each([
    ["not YAML", "entries: [\n", /not YAML/],
    ["a list", "- a\n", /not a mapping/],
    ["entries not a mapping", "entries: 3\n", /entries is not a mapping/],
    ["a chart that is not a list of versions", "entries:\n  app: 1\n", /entries.app is not a list/],
  ])("names the member whose index is %s", (_what, body, error) => {
    expect(() => mergeHelmIndex([found("bad", "remote", body)], ctx)).toThrow(MergeError);
    expect(() => mergeHelmIndex([found("bad", "remote", body)], ctx)).toThrow(error);
  });
});
