import { describe, expect, it } from "vitest";
import { puppet, rewritePuppetDocument } from "../../../providers/puppet.ts";
import { requestKey } from "../../../providers/query.ts";
import { context } from "./context.ts";

const SHA = "d".repeat(64);

/** `GET /v3/releases?module=puppetlabs-stdlib`: a paginated list of release objects. */
const RELEASES = JSON.stringify({
  pagination: {
    limit: 20,
    offset: 0,
    first: "/v3/releases?module=puppetlabs-stdlib&limit=20&offset=0",
    previous: null,
    current: "/v3/releases?module=puppetlabs-stdlib&limit=20&offset=0",
    next: "/v3/releases?module=puppetlabs-stdlib&limit=20&offset=20",
    total: 21,
  },
  results: [
    {
      uri: "/v3/releases/puppetlabs-stdlib-9.4.1",
      slug: "puppetlabs-stdlib-9.4.1",
      module: { uri: "/v3/modules/puppetlabs-stdlib", slug: "puppetlabs-stdlib", name: "stdlib" },
      version: "9.4.1",
      metadata: { name: "puppetlabs-stdlib", version: "9.4.1", dependencies: [] },
      file_uri: "/v3/files/puppetlabs-stdlib-9.4.1.tar.gz",
      file_size: 123456,
      file_md5: "0f343b0931126a20f133d67c2b018a3b",
      file_sha256: SHA,
      deleted_at: null,
    },
  ],
});

const ctx = context("v3/releases", { upstreamBase: "https://forgeapi.puppet.com" });

describe("puppet", () => {
  it.each([
    ["v3/modules/puppetlabs-stdlib", "mutable"],
    ["v3/modules", "mutable"],
    ["v3/releases", "mutable"],
    ["v3/releases/puppetlabs-stdlib-9.4.1", "mutable"],
    ["v3/files/puppetlabs-stdlib-9.4.1.tar.gz", "immutable"],
    ["v2/modules", "denied"],
    ["v3/oauth/token", "denied"],
  ])("classifies %s as %s", (path, kind) => {
    expect(puppet.classify(path).kind).toBe(kind);
  });

  it("keys release lists by their query, in any parameter order; archives take none", () => {
    const key = (path: string, search: string) => requestKey(puppet, path, null, search);
    const a = key("v3/releases", "?module=puppetlabs-stdlib&limit=20");
    expect(a).toEqual({ cacheKey: "v3/releases?limit=20&module=puppetlabs-stdlib", search: "?limit=20&module=puppetlabs-stdlib" });
    expect(key("v3/releases", "?limit=20&module=puppetlabs-stdlib")).toEqual(a);
    expect(key("v3/releases", "?module=puppetlabs-apt&limit=20").cacheKey).not.toBe(a.cacheKey);
    expect(key("v3/files/x.tar.gz", "?a=1")).toEqual({ cacheKey: "v3/files/x.tar.gz", search: "" });
  });

  it("keeps base-relative file and pagination links, which clients append to the proxy URL", () => {
    const { body, digests } = rewritePuppetDocument(RELEASES, ctx);
    const doc = JSON.parse(body);
    expect(doc.results[0].file_uri).toBe("/v3/files/puppetlabs-stdlib-9.4.1.tar.gz");
    expect(doc.pagination.next).toBe("/v3/releases?module=puppetlabs-stdlib&limit=20&offset=20");
    expect(digests.get("v3/files/puppetlabs-stdlib-9.4.1.tar.gz")).toEqual({ algorithm: "sha256", hex: SHA });
  });

  it("turns absolute file URLs into base-relative proxy paths", () => {
    const absolute = RELEASES.replace(
      '"/v3/files/puppetlabs-stdlib-9.4.1.tar.gz"',
      '"https://forgeapi.puppet.com/v3/files/puppetlabs-stdlib-9.4.1.tar.gz"',
    ).replace('"next":"/v3/', '"next":"https://forgeapi.puppet.com/v3/');
    const cdn = absolute.replace("https://forgeapi.puppet.com/v3/files/", "https://cdn.example.net/forge/");
    const onForge = JSON.parse(rewritePuppetDocument(absolute, ctx).body);
    expect(onForge.results[0].file_uri).toBe("/v3/files/puppetlabs-stdlib-9.4.1.tar.gz");
    expect(onForge.pagination.next).toBe("/v3/releases?module=puppetlabs-stdlib&limit=20&offset=20");
    const onCdn = rewritePuppetDocument(cdn, ctx);
    expect(JSON.parse(onCdn.body).results[0].file_uri).toBe("/_files/cdn.example.net/forge/puppetlabs-stdlib-9.4.1.tar.gz");
    expect(onCdn.digests.get("_files/cdn.example.net/forge/puppetlabs-stdlib-9.4.1.tar.gz")?.hex).toBe(SHA);
    expect(onCdn.links.get("_files/cdn.example.net/forge/puppetlabs-stdlib-9.4.1.tar.gz")).toBe("https://cdn.example.net/forge/puppetlabs-stdlib-9.4.1.tar.gz");
  });

  it("rewrites a module document's current release too", () => {
    const module = JSON.stringify({
      slug: "puppetlabs-stdlib",
      current_release: { version: "9.4.1", file_uri: "https://forgeapi.puppet.com/v3/files/puppetlabs-stdlib-9.4.1.tar.gz" },
      releases: [{ version: "9.4.1", file_uri: "/v3/files/puppetlabs-stdlib-9.4.1.tar.gz" }],
    });
    const doc = JSON.parse(rewritePuppetDocument(module, { ...ctx, path: "v3/modules/puppetlabs-stdlib" }).body);
    expect(doc.current_release.file_uri).toBe("/v3/files/puppetlabs-stdlib-9.4.1.tar.gz");
  });
});
