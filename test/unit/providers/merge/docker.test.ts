import { describe, expect, it } from "vitest";
import { mergeDockerTags, tagsPage } from "../../../../providers/merge/docker.ts";
import { MergeError } from "../../../../providers/merge/members.ts";
import { base, failed, found, missing } from "./fixtures.ts";

const ctx = { virtualBase: base("virtual", "containers"), path: "library/alpine/tags/list", name: "containers/library/alpine" };
const tags = (member: string, kind: "remote" | "local", list: string[] | null) => found(member, kind, JSON.stringify({ name: `library/alpine`, tags: list }));
const body = (merged: { body: string }) => JSON.parse(merged.body) as { name: string; tags: string[] };

describe("docker tags/list merge", () => {
  it("unions and sorts the tags under the virtual's repository name, routing each tag's manifest to the first member listing it", () => {
    const merged = mergeDockerTags([tags("hub", "remote", ["3.20", "latest", "3.19"]), tags("quay", "remote", ["3.19", "edge", "3.18"])], ctx);
    expect(body(merged)).toEqual({ name: "containers/library/alpine", tags: ["3.18", "3.19", "3.20", "edge", "latest"] });
    expect(merged.routes.get("library/alpine/manifests/3.19")).toBe("hub");
    expect(merged.routes.get("library/alpine/manifests/edge")).toBe("quay");
    expect(merged.outcome).toEqual({ status: "complete", served: ["hub", "quay"], failed: [], shadowed: [] });
  });

  it("pages the union with n and last, saying where the next page starts", () => {
    const all = body(mergeDockerTags([tags("hub", "remote", ["a", "c", "e"]), tags("quay", "remote", ["b", "d"])], ctx)).tags;
    expect(tagsPage(all, { n: 2 })).toEqual({ tags: ["a", "b"], next: "b" });
    expect(tagsPage(all, { n: 2, last: "b" })).toEqual({ tags: ["c", "d"], next: "d" });
    expect(tagsPage(all, { n: 2, last: "d" })).toEqual({ tags: ["e"], next: null });
    expect(tagsPage(all, { last: "c" })).toEqual({ tags: ["d", "e"], next: null });
    expect(tagsPage(all, { n: 0 })).toEqual({ tags: [], next: null });
  });

  it("never lets a missing repository or an empty list hide another member's tags", () => {
    const merged = mergeDockerTags([missing("hub", "remote"), tags("empty", "remote", null), tags("quay", "remote", ["1"])], ctx);
    expect(body(merged).tags).toEqual(["1"]);
    expect(merged.outcome.served).toEqual(["quay"]);
  });

  it("serves a repository a local has from the locals only, unless the virtual merges them", () => {
    const documents = [tags("hub", "remote", ["latest", "3.20"]), tags("team", "local", ["1.0"])];
    const owned = mergeDockerTags(documents, ctx);
    expect(body(owned).tags).toEqual(["1.0"]);
    expect(owned.outcome).toMatchObject({ served: ["team"], shadowed: ["hub"] });
    expect(body(mergeDockerTags(documents, { ...ctx, mergeLocalsWithRemotes: true })).tags).toEqual(["1.0", "3.20", "latest"]);
  });

  it("reports a member that failed", () => {
    expect(mergeDockerTags([failed("hub", "remote"), tags("quay", "remote", ["1"])], ctx).outcome).toMatchObject({ status: "partial", failed: ["hub"] });
  });

  it("names the member whose list cannot be read, and refuses a path that is not a tag list", () => {
    expect(() => mergeDockerTags([found("hub", "remote", "<html>")], ctx)).toThrow(MergeError);
    expect(() => mergeDockerTags([found("hub", "remote", '{"tags":[1]}')], ctx)).toThrow(/member 'hub'.*not a list of strings/);
    expect(() => mergeDockerTags([], { ...ctx, path: "library/alpine/manifests/latest" })).toThrow(/not a repository's tags\/list/);
  });
});
