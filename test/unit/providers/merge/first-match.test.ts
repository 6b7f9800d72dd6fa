import { describe, expect, it } from "vitest";
import type { AccessRules } from "../../../../providers/access.ts";
import { docker } from "../../../../providers/docker.ts";
import { generic } from "../../../../providers/generic.ts";
import { rpm } from "../../../../providers/rpm.ts";
import { memberOrder, type MemberRules } from "../../../../providers/merge/first-match.ts";

const rules = (patterns: string[], blocklist: string[] = []): AccessRules => ({ patterns, blocklist, mutable_patterns: [], immutable_patterns: [] });
const remote = (name: string, access?: AccessRules): MemberRules => ({ member: { name, kind: "remote" }, access });
const local = (name: string, access?: AccessRules): MemberRules => ({ member: { name, kind: "local" }, access });
const names = (order: { order: { name: string }[] }) => order.order.map((member) => member.name);

describe("which members to ask for a path, first match wins", () => {
  it("asks every member in order when none denies the path", () => {
    expect(names(memberOrder(generic, [local("uploads"), remote("github"), remote("mirror")], "releases/v1/app.tar.gz"))).toEqual(["uploads", "github", "mirror"]);
  });

  it("skips a member whose patterns or blocklist deny the path, saying why", () => {
    const order = memberOrder(generic, [remote("github", rules(["^acme/"])), remote("mirror", rules([], ["\\.exe$"])), remote("all")], "other/tool.exe");
    expect(names(order)).toEqual(["all"]);
    expect(order.denied).toEqual([
      { member: "github", reason: "path matches none of the remote's patterns" },
      { member: "mirror", reason: "path matches blocklist pattern \\.exe$" },
    ]);
  });

  it("skips members whose package type refuses the path", () => {
    const order = memberOrder(docker, [remote("hub"), local("team")], "not-a-registry-path");
    expect(order.order).toEqual([]);
    expect(order.denied.map((denied) => denied.member)).toEqual(["hub", "team"]);
  });

  it("asks only the locals that have the name (a docker repository) when one does, whatever the member order", () => {
    const members = [remote("hub"), local("other"), local("team"), remote("quay")];
    const order = memberOrder(docker, members, "acme/app/manifests/latest", { owners: ["team"] });
    expect(names(order)).toEqual(["team"]);
    expect(order.shadowed).toEqual(["hub", "quay"]);
    expect(names(memberOrder(docker, members, "acme/app/manifests/latest", { owners: ["team"], mergeLocalsWithRemotes: true }))).toEqual(["hub", "other", "team", "quay"]);
  });

  it("serves unsigned and signed indexes alike from the first member that has them (rpm repomd.xml is not merged)", () => {
    expect(names(memberOrder(rpm, [remote("fedora"), remote("mirror")], "repodata/repomd.xml"))).toEqual(["fedora", "mirror"]);
  });
});
