import { describe, expect, it } from "vitest";
import { packageObject, versionsInIndex } from "../../../functions/ui/packages.ts";

describe("package views of cached paths", () => {
  it("name npm packuments and tarballs, scoped ones too", () => {
    expect(packageObject("npm", "left-pad")).toEqual({ name: "left-pad", version: null });
    expect(packageObject("npm", "@demo%2futil")).toEqual({ name: "@demo/util", version: null });
    expect(packageObject("npm", "left-pad/-/left-pad-1.3.0.tgz")).toEqual({ name: "left-pad", version: "1.3.0" });
    expect(packageObject("npm", "@demo/util/-/util-2.0.0-rc.1.tgz")).toEqual({ name: "@demo/util", version: "2.0.0-rc.1" });
    expect(packageObject("npm", "-/ping")).toBeNull();
  });

  it("name PyPI projects from their pages and from wheel and sdist file names", () => {
    expect(packageObject("pypi", "simple/Requests_OAuthlib/")).toEqual({ name: "requests-oauthlib", version: null });
    expect(packageObject("pypi", "_files/files.pythonhosted.org/packages/ab/cd/requests_oauthlib-2.0.0-py2.py3-none-any.whl")).toEqual({ name: "requests-oauthlib", version: "2.0.0" });
    expect(packageObject("pypi", "packages/x/demo.pkg-1.2.tar.gz")).toEqual({ name: "demo-pkg", version: "1.2" });
    expect(packageObject("pypi", "packages/x/demo-1.2-py3-none-any.whl.metadata")).toBeNull();
  });

  it("name Helm charts and docker tags", () => {
    expect(packageObject("helm", "index.yaml")).toEqual({ name: "*", version: null });
    expect(packageObject("helm", "charts/nginx-ingress-4.11.2.tgz")).toEqual({ name: "nginx-ingress", version: "4.11.2" });
    expect(packageObject("docker", "library/alpine/manifests/3.20")).toEqual({ name: "library/alpine", version: "3.20" });
    expect(packageObject("docker", "library/alpine/tags/list")).toEqual({ name: "library/alpine", version: null });
    expect(packageObject("docker", "library/alpine/blobs/sha256:abc")).toBeNull();
  });

  it("read the versions an index lists", () => {
    expect(versionsInIndex("npm", "a", JSON.stringify({ versions: { "1.0.0": {}, "1.1.0": {} } }))).toEqual(["1.0.0", "1.1.0"]);
    expect(versionsInIndex("docker", "x", JSON.stringify({ name: "x", tags: ["3.19", "3.20"] }))).toEqual(["3.19", "3.20"]);
    expect(versionsInIndex("helm", "nginx", "apiVersion: v1\nentries:\n  nginx:\n    - version: 1.0.0\n    - version: 1.1.0\n  other:\n    - version: 9.0.0\n")).toEqual(["1.0.0", "1.1.0"]);
    const html = '<a href="../../x/demo-1.0-py3-none-any.whl#sha256=00">demo-1.0-py3-none-any.whl</a><a href="y">demo-1.0.tar.gz</a><a href="z">demo-1.1.tar.gz</a>';
    expect(versionsInIndex("pypi", "demo", html)).toEqual(["1.0", "1.1"]);
    expect(versionsInIndex("pypi", "demo", JSON.stringify({ files: [{ filename: "demo-2.0.tar.gz" }] }))).toEqual(["2.0"]);
    expect(versionsInIndex("npm", "a", "not json")).toBeNull();
  });
});
