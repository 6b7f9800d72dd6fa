import { describe, expect, it } from "vitest";
import { emptyFindings } from "../../../providers/links.ts";
import { rewriteTerraformDocument, rewriteTerraformGet, terraform } from "../../../providers/terraform.ts";
import { context } from "./context.ts";

const SHA = "e".repeat(64);
const DOWNLOAD_PATH = "v1/providers/hashicorp/random/3.6.0/download/linux/amd64";
const DOWNLOAD = JSON.stringify({
  protocols: ["5.0"],
  os: "linux",
  arch: "amd64",
  filename: "terraform-provider-random_3.6.0_linux_amd64.zip",
  download_url: "https://releases.hashicorp.com/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_linux_amd64.zip",
  shasums_url: "https://releases.hashicorp.com/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_SHA256SUMS",
  shasums_signature_url:
    "https://releases.hashicorp.com/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_SHA256SUMS.72D7468F.sig",
  shasum: SHA,
  signing_keys: { gpg_public_keys: [{ key_id: "34365D9472D7468F", ascii_armor: "-----BEGIN PGP PUBLIC KEY BLOCK-----" }] },
});

const ctx = context(DOWNLOAD_PATH, { upstreamBase: "https://registry.terraform.io" });
const PROXY = "https://dl.example.com/api/v1/remote/r";

describe("terraform classification", () => {
  it.each([
    [".well-known/terraform.json", "mutable"],
    ["v1/providers/hashicorp/random/versions", "mutable"],
    [DOWNLOAD_PATH, "immutable"],
    ["v1/modules/terraform-aws-modules/vpc/aws/versions", "mutable"],
    ["v1/modules/terraform-aws-modules/vpc/aws/5.5.1/download", "immutable"],
    ["v1/modules/terraform-aws-modules/vpc/aws/download", "mutable"],
    ["registry.terraform.io/hashicorp/random/index.json", "mutable"],
    ["registry.terraform.io/hashicorp/random/3.6.0.json", "immutable"],
    ["_files/releases.hashicorp.com/terraform-provider-random/3.6.0/x.zip", "immutable"],
    ["files/terraform-provider-demo_1.0.0_SHA256SUMS", "immutable"],
    ["files/terraform-provider-demo_1.0.0_SHA256SUMS.72D7468F.sig", "immutable"],
    ["archives/vpc-1.0.0.tar.gz", "immutable"],
    ["v2/organizations", "denied"],
    ["oauth/authorization", "denied"],
  ])("%s is %s", (path, kind) => {
    expect(terraform.classify(path).kind).toBe(kind);
  });
});

describe("terraform rewriting", () => {
  it("points service discovery at the proxy and drops services it does not serve", () => {
    const discovery = JSON.stringify({
      "modules.v1": "/v1/modules/",
      "providers.v1": "/v1/providers/",
      "login.v1": { client: "terraform-cli", grant_types: ["authz_code"], authz: "/oauth/authorization", token: "/oauth/token" },
    });
    const { body } = rewriteTerraformDocument(discovery, { ...ctx, path: ".well-known/terraform.json" });
    expect(JSON.parse(body)).toEqual({ "providers.v1": `${PROXY}/v1/providers/`, "modules.v1": `${PROXY}/v1/modules/` });
  });

  it("points provider download, shasums and signature URLs at the proxy, keeping shasum and keys", () => {
    const { body, digests, links } = rewriteTerraformDocument(DOWNLOAD, ctx);
    const doc = JSON.parse(body);
    const files = `${PROXY}/_files/releases.hashicorp.com/terraform-provider-random/3.6.0`;
    expect(doc.download_url).toBe(`${files}/terraform-provider-random_3.6.0_linux_amd64.zip`);
    expect(doc.shasums_url).toBe(`${files}/terraform-provider-random_3.6.0_SHA256SUMS`);
    expect(doc.shasums_signature_url).toBe(`${files}/terraform-provider-random_3.6.0_SHA256SUMS.72D7468F.sig`);
    expect(doc.shasum).toBe(SHA);
    expect(doc.signing_keys).toEqual(JSON.parse(DOWNLOAD).signing_keys);
    const zip = "_files/releases.hashicorp.com/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_linux_amd64.zip";
    expect(digests.get(zip)).toEqual({ algorithm: "sha256", hex: SHA });
    expect(links.get(zip)).toBe(JSON.parse(DOWNLOAD).download_url);
    expect(links.size).toBe(3);
  });

  it("rewrites network mirror archive URLs and reads zh: hashes", () => {
    const mirror = JSON.stringify({
      archives: {
        linux_amd64: {
          url: "https://releases.hashicorp.com/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_linux_amd64.zip",
          hashes: ["h1:abc=", `zh:${SHA}`],
        },
        darwin_arm64: { url: "terraform-provider-random_3.6.0_darwin_arm64.zip", hashes: ["h1:def="] },
      },
    });
    const path = "registry.terraform.io/hashicorp/random/3.6.0.json";
    expect(terraform.rewriter!.rewrites(path)).toBe(true);
    const { body, digests } = rewriteTerraformDocument(mirror, { ...ctx, path });
    const doc = JSON.parse(body);
    expect(doc.archives.linux_amd64.url).toMatch(`${PROXY}/_files/releases.hashicorp.com/`);
    expect(doc.archives.linux_amd64.hashes).toEqual(["h1:abc=", `zh:${SHA}`]);
    expect(doc.archives.darwin_arm64.url).toBe("terraform-provider-random_3.6.0_darwin_arm64.zip");
    expect(digests.size).toBe(1);
  });

  it("rewrites X-Terraform-Get, keeping subdirectory and go-getter query", () => {
    const moduleCtx = { ...ctx, path: "v1/modules/acme/vpc/aws/1.0.0/download" };
    const findings = emptyFindings();
    expect(terraform.rewriter!.linkHeaders!["x-terraform-get"]).toBe(rewriteTerraformGet);
    expect(rewriteTerraformGet("https://codeload.github.com/acme/terraform-aws-vpc/tar.gz/v1.0.0//*?archive=tar.gz", moduleCtx, findings)).toBe(
      `${PROXY}/_files/codeload.github.com/acme/terraform-aws-vpc/tar.gz/v1.0.0//*?archive=tar.gz`,
    );
    expect(rewriteTerraformGet("https://registry.terraform.io/archives/vpc-1.0.0.tar.gz", moduleCtx, findings)).toBe(
      `${PROXY}/archives/vpc-1.0.0.tar.gz`,
    );
    expect(rewriteTerraformGet("git::https://github.com/acme/terraform-aws-vpc?ref=v1.0.0", moduleCtx, findings)).toBe(
      "git::https://github.com/acme/terraform-aws-vpc?ref=v1.0.0",
    );
    expect(findings.links).toEqual(
      new Map([["_files/codeload.github.com/acme/terraform-aws-vpc/tar.gz/v1.0.0", "https://codeload.github.com/acme/terraform-aws-vpc/tar.gz/v1.0.0"]]),
    );
  });

  it("rewrites the JSON location of 200-style module downloads; a 204's empty body becomes an empty JSON object", () => {
    const path = "v1/modules/acme/vpc/aws/1.0.0/download";
    const located = rewriteTerraformDocument(
      JSON.stringify({ location: "https://registry.terraform.io/archives/vpc-1.0.0.tar.gz" }),
      { ...ctx, path },
    );
    expect(JSON.parse(located.body).location).toBe(`${PROXY}/archives/vpc-1.0.0.tar.gz`);
    // Served with 200, the body must parse as JSON; without a location clients read X-Terraform-Get.
    expect(rewriteTerraformDocument("", { ...ctx, path }).body).toBe("{}");
  });
});
