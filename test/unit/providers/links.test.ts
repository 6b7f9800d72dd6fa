import { describe, expect, it } from "vitest";
import { prefers, quality } from "../../../providers/accept.ts";
import { hexDigest, sriDigest } from "../../../providers/digests.ts";
import { docker } from "../../../providers/docker.ts";
import { generic } from "../../../providers/generic.ts";
import { isForeignFilePath, proxyHref, resolveLink, underBaseUrl } from "../../../providers/links.ts";
import { npm } from "../../../providers/npm.ts";
import { pypi } from "../../../providers/pypi.ts";
import { normalizeQuery, requestKey } from "../../../providers/query.ts";
import { context } from "./context.ts";

describe("links", () => {
  const ctx = context("simple/demo/", { upstreamBase: "https://pypi.org" });

  it("maps links under the upstream base to the same path under the proxy", () => {
    const { href, link } = proxyHref("https://pypi.org/simple/other/", ctx);
    expect(href).toBe("https://dl.example.com/api/v1/remote/r/simple/other/");
    expect(link).toMatchObject({ path: "simple/other/", upstream: null });
    expect(proxyHref("/simple/other/", ctx).href).toBe("https://dl.example.com/api/v1/remote/r/simple/other/");
  });

  it("keeps relative links that stay inside the remote unless asked for absolute ones", () => {
    expect(proxyHref("../other/", ctx)).toMatchObject({ href: "../other/", link: { path: "simple/other/" } });
    expect(proxyHref("../other/", ctx, { absolute: true }).href).toBe("https://dl.example.com/api/v1/remote/r/simple/other/");
  });

  it("maps every other http(s) link under _files/, with the exact URL to fetch", () => {
    expect(resolveLink("https://files.pythonhosted.org/packages/ab/cd/demo-1.0.tar.gz#sha256=00", ctx)).toEqual({
      path: "_files/files.pythonhosted.org/packages/ab/cd/demo-1.0.tar.gz",
      query: "",
      fragment: "#sha256=00",
      relative: false,
      upstream: "https://files.pythonhosted.org/packages/ab/cd/demo-1.0.tar.gz",
    });
    // Plain http stays plain http: the recorded URL says how to reach it.
    expect(resolveLink("http://mirror.example.net:8080/x.whl?token=1", ctx)).toMatchObject({
      path: "_files/mirror.example.net:8080/x.whl",
      query: "?token=1",
      upstream: "http://mirror.example.net:8080/x.whl?token=1",
    });
    expect(resolveLink("mailto:someone@example.org", ctx)).toBeNull();
  });

  it("sends links on the upstream's host outside its base path, or with a query, through _files/ too", () => {
    const gitlab = context("@acme%2fwidget", { upstreamBase: "https://gitlab.example.com/api/v4/projects/123/packages/npm/" });
    expect(resolveLink("https://gitlab.example.com/api/v4/projects/999/packages/npm/x/-/x-1.tgz", gitlab)).toMatchObject({
      path: "_files/gitlab.example.com/api/v4/projects/999/packages/npm/x/-/x-1.tgz",
      upstream: "https://gitlab.example.com/api/v4/projects/999/packages/npm/x/-/x-1.tgz",
    });
    expect(resolveLink("https://gitlab.example.com/api/v4/projects/123/packages/npm/x/-/x-1.tgz", gitlab)).toMatchObject({ path: "x/-/x-1.tgz", upstream: null });
    expect(resolveLink("https://gitlab.example.com/api/v4/projects/123/packages/npm/x/-/x-1.tgz?v=2", gitlab)).toMatchObject({
      path: "_files/gitlab.example.com/api/v4/projects/123/packages/npm/x/-/x-1.tgz",
      query: "?v=2",
    });
    expect(resolveLink("https://gitlab.example.com/api/v4/projects/123/packages/npm/x?v=2", gitlab, { keepQuery: true })).toMatchObject({ path: "x", query: "?v=2" });
  });

  it("counts as under base_url only the same origin and path prefix, dot segments resolved", () => {
    const base = "https://gitlab.example.com/api/v4/projects/123/packages/npm/";
    expect(underBaseUrl(new URL("https://gitlab.example.com/api/v4/projects/123/packages/npm/x"), base)).toBe(true);
    expect(underBaseUrl(new URL("https://gitlab.example.com/api/v4/projects/123/packages/npm"), base)).toBe(true);
    expect(underBaseUrl(new URL("https://gitlab.example.com/api/v4/projects/999/packages/npm/x"), base)).toBe(false);
    expect(underBaseUrl(new URL("https://gitlab.example.com/api/v4/projects/123/packages/npm-evil/x"), base)).toBe(false);
    expect(underBaseUrl(new URL("https://gitlab.example.com/api/v4/projects/123/packages/npm/%2e%2e/%2e%2e/999/x"), base)).toBe(false);
    expect(underBaseUrl(new URL("https://gitlab.example.com/api/v4/projects/123/packages/npm/..%2f..%2f999/x"), base)).toBe(false);
    expect(underBaseUrl(new URL("http://gitlab.example.com/api/v4/projects/123/packages/npm/x"), base)).toBe(false);
    expect(underBaseUrl(new URL("https://gitlab.example.com:8443/api/v4/projects/123/packages/npm/x"), base)).toBe(false);
    expect(underBaseUrl(new URL("https://registry.npmjs.org/x"), "https://registry.npmjs.org")).toBe(true);
  });

  it("validates foreign file paths syntactically", () => {
    expect(isForeignFilePath("_files/files.pythonhosted.org/packages/a.whl")).toBe(true);
    expect(isForeignFilePath("_files/files.pythonhosted.org/../etc/passwd")).toBe(false);
    expect(isForeignFilePath("_files/no-path")).toBe(false);
  });
});

describe("accept negotiation (RFC 9110)", () => {
  it("uses the most specific matching range", () => {
    const npmAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
    expect(quality(npmAccept, "application/json")).toBe(0.8);
    expect(quality(npmAccept, "text/html")).toBe(1);
    expect(quality("text/*;q=0.3, */*;q=0.1", "text/html")).toBe(0.3);
    expect(quality("text/*;q=0.3, */*;q=0.1", "application/json")).toBe(0.1);
    expect(quality("application/json;q=0", "application/json")).toBe(0);
    expect(quality("text/html", "application/json")).toBe(0);
    expect(prefers(npmAccept, ["application/vnd.npm.install-v1+json"], ["application/json"])).toBe(true);
  });

  it("reads whitespace around ; and =, any case, and three-decimal q-values", () => {
    expect(quality("application/json ;q =0.1", "application/json")).toBe(0.1);
    expect(quality("application/json\t; Q = 0.125 ", "application/json")).toBe(0.125);
    expect(quality("Application/JSON;q=0.5", "application/json")).toBe(0.5);
    expect(quality('text/html;foo="a,b;q=0";q=0.2, application/json', "text/html")).toBe(0.2);
  });

  it("ignores ranges whose q-value or type is malformed, as if they were not sent", () => {
    expect(quality("application/json;q=1.5, */*;q=0.2", "application/json")).toBe(0.2);
    expect(quality("application/json;q=0.1234, */*;q=0.2", "application/json")).toBe(0.2);
    expect(quality("application/json;q=abc", "application/json")).toBe(1);
    expect(quality("*/json, nonsense", "application/json")).toBe(1);
  });

  it("keeps the default on ties and without a header", () => {
    expect(prefers(null, ["application/json"], ["text/html"])).toBe(false);
    expect(prefers("*/*", ["application/json"], ["text/html"])).toBe(false);
    expect(prefers("application/json, application/vnd.npm.install-v1+json", ["application/vnd.npm.install-v1+json"], ["application/json"])).toBe(false);
  });
});

describe("query keys", () => {
  it("sorts the kept parameters, drops the rest and empty pairs, and keeps each pair as sent", () => {
    expect(normalizeQuery("?b=2&a=1&&c", "all")).toBe("a=1&b=2&c");
    expect(normalizeQuery("?versionId=x%2By&a=1", "all")).toBe("a=1&versionId=x%2By");
    expect(normalizeQuery("?n=10&utm_source=x&last=abc", ["n", "last"])).toBe("last=abc&n=10");
    expect(normalizeQuery("?a=1", [])).toBe("");
    expect(normalizeQuery("", "all")).toBe("");
  });

  it("puts the query in the key of the types that keep it, and asks the upstream the same", () => {
    expect(requestKey(generic, "tool-1.2.tar.gz", null, "?versionId=old")).toEqual({ cacheKey: "tool-1.2.tar.gz?versionId=old", search: "?versionId=old" });
    expect(requestKey(generic, "tool-1.2.tar.gz", null, "")).toEqual({ cacheKey: "tool-1.2.tar.gz", search: "" });
    expect(requestKey(docker, "library/alpine/tags/list", null, "?last=b&n=2&x=1").cacheKey).toBe("library/alpine/tags/list?last=b&n=2");
    expect(requestKey(docker, "library/alpine/manifests/3.20", null, "?n=2")).toEqual({ cacheKey: "library/alpine/manifests/3.20", search: "" });
    expect(requestKey(npm, "lodash", null, "?cachebust=1")).toEqual({ cacheKey: "lodash", search: "" });
    expect(requestKey(pypi, "_files/files.example/a.whl", null, "?b=1&a=2").cacheKey).toBe("_files/files.example/a.whl?a=2&b=1");
  });
});

describe("digests", () => {
  it("converts SRI base64 to hex and keeps the strongest", () => {
    // sha512 of the empty string.
    const empty512 =
      "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    const sri = `sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk= sha512-${Buffer.from(empty512, "hex").toString("base64")}`;
    expect(sriDigest(sri)).toEqual({ algorithm: "sha512", hex: empty512 });
  });

  it("refuses what cannot be verified", () => {
    expect(hexDigest("md5", "d41d8cd98f00b204e9800998ecf8427e")).toBeNull();
    expect(hexDigest("sha256", "abc")).toBeNull();
    expect(sriDigest("sha512-!!!")).toBeNull();
  });
});
