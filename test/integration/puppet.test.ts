import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

interface Release {
  version: string;
  file_uri: string;
  file_sha256: string;
}

/**
 * No puppet client exists on these machines: this walks the Forge v3 API as `puppet module
 * install` and r10k do (the release list for a module, then each `file_uri` appended to the
 * configured Forge URL) and checks every archive against `file_sha256`.
 */
describe("puppet forge through the proxy (protocol level)", () => {
  const origin = new Origin();
  const remote = uniqueName("forge");
  const archives = { "acme-ntp-1.0.0.tar.gz": randomBytes(15_000), "acme-ntp-1.1.0.tar.gz": randomBytes(16_000) };
  let stack: TestStack;

  const forge = () => `${stack.url}/api/v1/remote/${remote}`;

  beforeAll(async () => {
    await origin.start();
    const release = (file: string, version: string, absolute: boolean): Release & Record<string, unknown> => ({
      uri: `/v3/releases/acme-ntp-${version}`,
      slug: `acme-ntp-${version}`,
      version,
      // The public Forge writes base-relative links; some mirrors write absolute ones.
      file_uri: absolute ? `${origin.url}/v3/files/${file}` : `/v3/files/${file}`,
      file_sha256: sha256(archives[file as keyof typeof archives]),
      metadata: { name: "acme-ntp", version, dependencies: [] },
    });
    const releases = [release("acme-ntp-1.1.0.tar.gz", "1.1.0", true), release("acme-ntp-1.0.0.tar.gz", "1.0.0", false)];
    const pagination = { limit: 20, offset: 0, first: "/v3/releases?module=acme-ntp&limit=20&offset=0", previous: null, current: "/v3/releases?module=acme-ntp&limit=20&offset=0", next: null, total: 2 };
    origin.serve("/v3/releases", { body: JSON.stringify({ pagination, results: releases }), contentType: "application/json" });
    origin.serve("/v3/modules/acme-ntp", { body: JSON.stringify({ slug: "acme-ntp", current_release: releases[0], releases: releases.map(({ uri, version }) => ({ uri, version })) }), contentType: "application/json" });
    for (const [name, body] of Object.entries(archives)) origin.serve(`/v3/files/${name}`, { body, contentType: "application/gzip" });
    stack = await startTestStack({ remotes: { [remote]: { base_url: origin.url, package: "puppet", allow_private_network: true, mutable_ttl: 3 } } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  /** Lists the module's releases and downloads each as the client does; returns how many. */
  const installEverything = async (query = "module=acme-ntp&limit=20&offset=0") => {
    const list = await fetch(`${forge()}/v3/releases?${query}`);
    expect(list.status).toBe(200);
    const { results, pagination } = (await list.json()) as { results: Release[]; pagination: { current: string } };
    expect(pagination.current.startsWith("/v3/releases?")).toBe(true);
    for (const release of results) {
      // The Forge URL the client was configured with, then file_uri.
      expect(release.file_uri.startsWith("/v3/files/")).toBe(true);
      const archive = await fetch(`${forge()}${release.file_uri}`);
      expect(archive.status, release.file_uri).toBe(200);
      expect(sha256(Buffer.from(await archive.arrayBuffer()))).toBe(release.file_sha256);
    }
    return results.length;
  };

  it("serves release lists whose file_uri (relative or absolute upstream) come back through the proxy, digests matching", async () => {
    expect(await installEverything()).toBe(2);
    const module = (await (await fetch(`${forge()}/v3/modules/acme-ntp`)).json()) as { current_release: Release };
    expect(module.current_release.file_uri).toBe("/v3/files/acme-ntp-1.1.0.tar.gz");
  });

  it("caches a release list by its query, parameters in any order", async () => {
    const before = origin.count("/v3/releases");
    const reordered = await fetch(`${forge()}/v3/releases?offset=0&limit=20&module=acme-ntp`);
    expect(reordered.headers.get("x-artifact-source")).toBe("cache");
    expect(origin.count("/v3/releases")).toBe(before);
  });

  it("serves module installs from the cache once the Forge is gone", async () => {
    await origin.stop();
    await sleep(3_200); // past mutable_ttl: the lists are served stale
    expect(await installEverything()).toBe(2);
  });
});
