import { randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OciLayout } from "../test/support/oci-layout.ts";
import { Registry, skopeo } from "../test/support/registry.ts";
import { publishPackage, startVerdaccio, writePublisherNpmrc } from "../test/support/verdaccio.ts";
import type { Cleanup } from "./processes.ts";

const PACKAGE = "bench-small";
const IMAGE = "bench/small";

/** The same small hit through the ecosystem's own caches and through the proxy. */
export interface Peers {
  /** Remotes for the proxy's config, on the same upstreams the peers cache; names end in `suffix` (one Redis serves every runtime). */
  remotes(suffix: string): Record<string, unknown>;
  tarballBytes: number;
  blobBytes: number;
  /** The tarball through verdaccio's uplink cache, and the layer blob through distribution's `proxy:` mode, both warm. */
  verdaccioTarball: string;
  distributionBlob: string;
  /** The same tarball and blob through a proxy at `base`, warmed as a client would (document first), checked to be hits. */
  proxyUrls(base: string, suffix: string): Promise<{ tarball: string; blob: string }>;
}

/**
 * An upstream verdaccio with one package whose tarball is about 1 KiB, verdaccio's uplink cache
 * in front of it; an upstream distribution with a one-layer image (a ~1 KiB layer), distribution's
 * pull-through cache in front of it.
 */
export async function startPeers(cleanup: Cleanup, dir: string): Promise<Peers> {
  const upstreamNpm = await startVerdaccio(join(dir, "verdaccio-upstream"));
  cleanup.defer("verdaccio (upstream)", () => upstreamNpm.stop());
  const clean = { userconfig: join(dir, "empty-user-npmrc"), globalconfig: join(dir, "empty-global-npmrc") };
  await Promise.all([writeFile(clean.userconfig, ""), writeFile(clean.globalconfig, "")]);
  const publisherRc = join(dir, "publisher-npmrc");
  await writePublisherNpmrc(upstreamNpm.url, publisherRc);
  // Random hex does not compress much: the tarball lands near 1 KiB.
  const main = `module.exports = ${JSON.stringify(randomBytes(700).toString("hex"))};\n`;
  await publishPackage(upstreamNpm.url, join(dir, "package"), { name: PACKAGE, version: "1.0.0", dependencies: {}, main }, { ...clean, userconfig: publisherRc });
  const verdaccio = await startVerdaccio(join(dir, "verdaccio-cache"), { uplink: { url: `${upstreamNpm.url}/`, maxage: "60m" } });
  cleanup.defer("verdaccio (uplink cache)", () => verdaccio.stop());

  const upstreamRegistry = new Registry();
  cleanup.defer("docker-registry (upstream)", () => upstreamRegistry.destroy());
  await upstreamRegistry.start();
  const layout = new OciLayout(join(dir, "layout"));
  const manifest = await layout.image(1, 1024);
  layout.tag("1", manifest);
  await layout.write();
  const layer = (JSON.parse(await readFile(join(layout.dir, "blobs/sha256", manifest.digest.slice("sha256:".length)), "utf8")) as { layers: { digest: string; size: number }[] }).layers[0]!;
  await skopeo("copy", `oci:${layout.dir}:1`, `docker://${upstreamRegistry.host}/${IMAGE}:1`);
  await rm(layout.dir, { recursive: true, force: true });
  const distribution = new Registry({ proxy: { remoteurl: upstreamRegistry.url } });
  cleanup.defer("docker-registry (pull-through)", () => distribution.destroy());
  await distribution.start();

  const tarball = (await json(`${verdaccio.url}/${PACKAGE}`)).versions["1.0.0"].dist.tarball as string;
  const tarballBytes = (await bytes(tarball)).length;
  const distributionBlob = `${distribution.url}/v2/${IMAGE}/blobs/${layer.digest}`;
  await bytes(distributionBlob);
  await bytes(distributionBlob);

  return {
    remotes: (suffix) => ({
      [`peer-npm-${suffix}`]: { base_url: upstreamNpm.url, package: "npm", allow_private_network: true, mutable_ttl: 3600 },
      [`peer-docker-${suffix}`]: { base_url: upstreamRegistry.url, package: "docker", allow_private_network: true },
    }),
    tarballBytes,
    blobBytes: layer.size,
    verdaccioTarball: tarball,
    distributionBlob,
    async proxyUrls(base, suffix) {
      const tarball = (await json(`${base}/api/v1/remote/peer-npm-${suffix}/${PACKAGE}`)).versions["1.0.0"].dist.tarball as string;
      const manifestUrl = `${base}/v2/peer-docker-${suffix}/${IMAGE}/manifests/1`;
      await bytes(manifestUrl, { accept: "application/vnd.oci.image.manifest.v1+json" });
      const blob = `${base}/v2/peer-docker-${suffix}/${IMAGE}/blobs/${layer.digest}`;
      for (const url of [tarball, blob]) {
        await bytes(url);
        // The copy is committed after the miss's response: a hit from then on.
        for (let i = 0; ; i++) {
          const response = await fetch(url, { method: "HEAD" });
          if (response.headers.get("x-artifact-source") === "cache") break;
          if (i === 100) throw new Error(`${url}: not a hit after warming (${response.status})`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      return { tarball, blob };
    },
  };
}

async function bytes(url: string, headers: Record<string, string> = {}): Promise<Buffer> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return Buffer.from(await response.arrayBuffer());
}

async function json(url: string): Promise<any> {
  return JSON.parse((await bytes(url)).toString("utf8"));
}
