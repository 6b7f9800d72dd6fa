import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const PROVIDER_ZIP = "terraform-provider-demo_1.0.0_linux_amd64.zip";
const SHASUMS = "terraform-provider-demo_1.0.0_SHA256SUMS";
const TAMPERED_ZIP = "terraform-provider-demo_1.0.0_linux_arm64.zip";

/**
 * No terraform client exists on these machines: this walks the registry protocols as
 * `terraform init` does. Terraform finds a registry at `https://<host>/.well-known/terraform.json`,
 * so the remote is served at the root of a mapped hostname (here `localhost`).
 */
describe("terraform registry through the proxy (protocol level)", () => {
  const origin = new Origin();
  const remote = uniqueName("terraform");
  const zip = randomBytes(40_000);
  const moduleArchive = randomBytes(12_000);
  let stack: TestStack;
  /** The registry host as terraform sees it: the proxy under its mapped hostname. */
  let registry: string;

  beforeAll(async () => {
    await origin.start();
    const files = `${origin.url}/files`;
    origin
      .serve("/.well-known/terraform.json", { body: JSON.stringify({ "providers.v1": "/v1/providers/", "modules.v1": "/v1/modules/", "login.v1": { client: "terraform-cli" } }), contentType: "application/json" })
      .serve("/v1/providers/acme/demo/versions", { body: JSON.stringify({ versions: [{ version: "1.0.0", protocols: ["5.0"], platforms: [{ os: "linux", arch: "amd64" }] }] }), contentType: "application/json" })
      .serve("/v1/providers/acme/demo/1.0.0/download/linux/amd64", {
        body: JSON.stringify({
          protocols: ["5.0"],
          os: "linux",
          arch: "amd64",
          filename: PROVIDER_ZIP,
          download_url: `${files}/${PROVIDER_ZIP}`,
          shasums_url: `${files}/${SHASUMS}`,
          shasums_signature_url: `${files}/${SHASUMS}.sig`,
          shasum: sha256(zip),
          signing_keys: { gpg_public_keys: [] },
        }),
        contentType: "application/json",
      })
      .serve("/v1/providers/acme/demo/1.0.0/download/linux/arm64", {
        body: JSON.stringify({ os: "linux", arch: "arm64", filename: TAMPERED_ZIP, download_url: `${files}/${TAMPERED_ZIP}`, shasum: "0".repeat(64) }),
        contentType: "application/json",
      })
      .serve(`/files/${TAMPERED_ZIP}`, { body: randomBytes(1_000), contentType: "application/zip" })
      .serve(`/files/${PROVIDER_ZIP}`, { body: zip, contentType: "application/zip" })
      .serve(`/files/${SHASUMS}`, { body: `${sha256(zip)}  ${PROVIDER_ZIP}\n`, contentType: "text/plain" })
      .serve(`/files/${SHASUMS}.sig`, randomBytes(300))
      // The classic module download: 204 with the source address in X-Terraform-Get.
      .serve("/v1/modules/acme/vpc/aws/1.0.0/download", { body: "", status: 204, headers: { "x-terraform-get": `${origin.url}/archives/vpc-1.0.0.tar.gz?archive=tar.gz` } })
      .serve("/archives/vpc-1.0.0.tar.gz", { body: moduleArchive, contentType: "application/gzip" });
    stack = await startTestStack({
      remotes: { [remote]: { base_url: origin.url, package: "terraform", allow_private_network: true, mutable_ttl: 1, hostnames: ["localhost"] } },
    });
    registry = stack.url.replace("127.0.0.1", "localhost");
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  const json = async <T>(url: string): Promise<T> => {
    const response = await fetch(url);
    expect(response.status, url).toBe(200);
    return (await response.json()) as T;
  };

  /** `terraform init` for one provider and one module, every URL followed as the client does. */
  const init = async () => {
    const discovery = await json<Record<string, string>>(`${registry}/.well-known/terraform.json`);
    expect(Object.keys(discovery).sort()).toEqual(["modules.v1", "providers.v1"]);
    const providers = new URL(discovery["providers.v1"]!, `${registry}/.well-known/terraform.json`);
    expect(providers.href).toBe(`${registry}/v1/providers/`);

    const { versions } = await json<{ versions: { version: string }[] }>(`${providers.href}acme/demo/versions`);
    expect(versions.map((v) => v.version)).toEqual(["1.0.0"]);
    const download = await json<{ download_url: string; shasums_url: string; shasum: string }>(`${providers.href}acme/demo/1.0.0/download/linux/amd64`);
    expect(download.download_url).toBe(`${registry}/files/${PROVIDER_ZIP}`);
    expect(download.shasums_url).toBe(`${registry}/files/${SHASUMS}`);
    const archive = await fetch(download.download_url);
    expect(archive.status).toBe(200);
    expect(sha256(Buffer.from(await archive.arrayBuffer()))).toBe(download.shasum);
    const shasums = await fetch(download.shasums_url);
    expect(await shasums.text()).toContain(`${download.shasum}  ${PROVIDER_ZIP}`);

    const modules = new URL(discovery["modules.v1"]!, `${registry}/.well-known/terraform.json`);
    const located = await fetch(`${modules.href}acme/vpc/aws/1.0.0/download`);
    // Served as 200: current clients read the JSON body and fall back to the header, older ones read the header.
    expect(located.status).toBe(200);
    expect(await located.json()).toEqual({});
    const source = located.headers.get("x-terraform-get");
    expect(source).toBe(`${registry}/archives/vpc-1.0.0.tar.gz?archive=tar.gz`);
    const moduleSource = await fetch(source!);
    expect(moduleSource.status).toBe(200);
    expect(sha256(Buffer.from(await moduleSource.arrayBuffer()))).toBe(sha256(moduleArchive));
  };

  it("serves discovery, provider and module downloads with every link through the proxy and digests matching", async () => {
    await init();
    expect(origin.count(`/files/${PROVIDER_ZIP}`)).toBe(1);
  });

  it("refuses, and does not cache, a provider package that does not match its shasum", async () => {
    const download = await json<{ download_url: string }>(`${registry}/v1/providers/acme/demo/1.0.0/download/linux/arm64`);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const response = await fetch(download.download_url);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
    }
    expect(origin.count(`/files/${TAMPERED_ZIP}`)).toBe(2);
  });

  it("serves terraform init from the cache once the registry is gone", async () => {
    await origin.stop();
    await sleep(1_200); // past mutable_ttl: discovery and version lists are served stale
    await init();
  });
});
