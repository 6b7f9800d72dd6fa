import { describe, expect, it } from "vitest";
import { prefers, quality } from "../../../providers/accept.ts";
import { hexDigest, sriDigest } from "../../../providers/digests.ts";
import { fileUpstreamUrl, isForeignFilePath, proxyHref, resolveLink } from "../../../providers/links.ts";
import { context } from "./context.ts";

describe("links", () => {
  const ctx = context("simple/demo/", {
    upstreamBase: "https://pypi.org",
    fileHosts: ["files.pythonhosted.org"],
  });

  it("maps links under the upstream base to the same path under the proxy", () => {
    expect(proxyHref("https://pypi.org/simple/other/", ctx)).toEqual({
      href: "https://dl.example.com/api/v1/remote/r/simple/other/",
      path: "simple/other/",
    });
    expect(proxyHref("/simple/other/", ctx).href).toBe("https://dl.example.com/api/v1/remote/r/simple/other/");
  });

  it("keeps relative links that stay inside the remote unless asked for absolute ones", () => {
    expect(proxyHref("../other/", ctx)).toEqual({ href: "../other/", path: "simple/other/" });
    expect(proxyHref("../other/", ctx, { absolute: true }).href).toBe(
      "https://dl.example.com/api/v1/remote/r/simple/other/",
    );
  });

  it("maps allowed foreign hosts under _files/ and back to the exact upstream URL", () => {
    const link = resolveLink("https://files.pythonhosted.org/packages/ab/cd/demo-1.0.tar.gz#sha256=00", ctx);
    expect(link).toEqual({
      path: "_files/files.pythonhosted.org/packages/ab/cd/demo-1.0.tar.gz",
      suffix: "#sha256=00",
      relative: false,
    });
    expect(fileUpstreamUrl(link!.path, ctx)).toBe("https://files.pythonhosted.org/packages/ab/cd/demo-1.0.tar.gz");
  });

  it("is not an open proxy: other hosts are neither rewritten nor fetched", () => {
    expect(proxyHref("https://evil.example.net/x.whl", ctx)).toEqual({ href: "https://evil.example.net/x.whl", path: null });
    expect(fileUpstreamUrl("_files/evil.example.net/x.whl", ctx)).toBeNull();
    expect(fileUpstreamUrl("_files/files.pythonhosted.org/", ctx)).toBeNull();
    // A plain-http link on an https-only file host would not round-trip: left alone.
    expect(resolveLink("http://files.pythonhosted.org/packages/x.whl", ctx)).toBeNull();
  });

  it("uses the upstream's own scheme for files on the upstream host outside its base path", () => {
    const local = context("simple/demo/", { upstreamBase: "http://127.0.0.1:8080/pypi" });
    const link = proxyHref("http://127.0.0.1:8080/packages/demo-1.0.whl", local);
    expect(link.path).toBe("_files/127.0.0.1:8080/packages/demo-1.0.whl");
    expect(fileUpstreamUrl(link.path!, local)).toBe("http://127.0.0.1:8080/packages/demo-1.0.whl");
  });

  it("validates foreign file paths syntactically", () => {
    expect(isForeignFilePath("_files/files.pythonhosted.org/packages/a.whl")).toBe(true);
    expect(isForeignFilePath("_files/files.pythonhosted.org/../etc/passwd")).toBe(false);
    expect(isForeignFilePath("_files/no-path")).toBe(false);
  });
});

describe("accept negotiation", () => {
  it("uses the most specific matching range", () => {
    const npmAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
    expect(quality(npmAccept, "application/json")).toBe(0.8);
    expect(quality(npmAccept, "text/html")).toBe(1);
    expect(prefers(npmAccept, ["application/vnd.npm.install-v1+json"], ["application/json"])).toBe(true);
  });

  it("keeps the default on ties and without a header", () => {
    expect(prefers(null, ["application/json"], ["text/html"])).toBe(false);
    expect(prefers("*/*", ["application/json"], ["text/html"])).toBe(false);
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
