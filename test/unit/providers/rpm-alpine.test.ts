import { describe, expect, it } from "vitest";
import { alpine } from "../../../providers/alpine.ts";
import { rpm } from "../../../providers/rpm.ts";

describe("rpm", () => {
  it.each([
    ["repodata/repomd.xml", "mutable"],
    ["9/BaseOS/x86_64/os/repodata/repomd.xml.asc", "mutable"],
    ["repodata/0e1c7f8a9b2d3c4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091a2b3c4d5-primary.xml.gz", "immutable"],
    ["repodata/primary.xml.gz", "mutable"],
    ["Packages/h/hello-2.12-1.fc40.x86_64.rpm", "immutable"],
    ["mirrorlist", "mutable"],
  ])("classifies %s as %s", (path, kind) => {
    expect(rpm.classify(path).kind).toBe(kind);
  });
});

describe("alpine", () => {
  it.each([
    ["v3.20/main/x86_64/APKINDEX.tar.gz", "mutable"],
    ["v3.20/main/x86_64/busybox-1.36.1-r29.apk", "immutable"],
    ["last-updated", "mutable"],
  ])("classifies %s as %s", (path, kind) => {
    expect(alpine.classify(path).kind).toBe(kind);
  });
});
