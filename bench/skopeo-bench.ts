import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciLayout } from "../test/support/oci-layout.ts";
import { Registry, skopeo, skopeoArgs } from "../test/support/registry.ts";
import { startClientProxy, timed, timeWarmRuns, type ClientPath, type ClientResult } from "./client-runs.ts";
import type { ClientBenchConfig } from "./config.ts";
import { startForwarder } from "./forwarder.ts";
import { run, type Cleanup } from "./processes.ts";

const REMOTE = "bench-docker";
const LAYERS = 5;
const IMAGE = "bench/app:1";

/**
 * Issue 4: a warm `skopeo copy` of one image through the proxy, through distribution's own
 * pull-through cache (`proxy:`) and straight from the upstream distribution; each path reaches
 * the upstream through a counting forwarder.
 */
export async function skopeoBench(cleanup: Cleanup, config: ClientBenchConfig): Promise<ClientResult> {
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-bench-skopeo-"));
  cleanup.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  const upstream = await startRegistry(cleanup, new Registry());
  const layout = new OciLayout(join(dir, "layout"));
  layout.tag("1", await layout.image(LAYERS, Math.ceil(config.imageBytes / LAYERS)));
  await layout.write();
  await skopeo("copy", `oci:${layout.dir}:1`, `docker://${upstream.host}/${IMAGE}`);
  await rm(layout.dir, { recursive: true, force: true });

  const toDirect = await startForwarder(cleanup, upstream.url);
  const toPeer = await startForwarder(cleanup, upstream.url);
  const toProxy = await startForwarder(cleanup, upstream.url);
  const peer = await startRegistry(cleanup, new Registry({ proxy: { remoteurl: toPeer.url } }));
  const proxy = await startClientProxy(cleanup, join(dir, "proxy"), {
    [REMOTE]: { package: "docker", base_url: toProxy.url, allow_private_network: true },
  });
  const sources: Record<ClientPath, string> = {
    proxy: `docker://${new URL(proxy).host}/${REMOTE}/${IMAGE}`,
    peer: `docker://${peer.host}/${IMAGE}`,
    direct: `docker://${toDirect.host}/${IMAGE}`,
  };

  const copy = (path: ClientPath) => async () => {
    const dest = await mkdtemp(join(dir, "copy-"));
    const ms = await timed(() => run("skopeo", skopeoArgs("copy", sources[path], `dir:${dest}`), 120_000, { signal: cleanup.signal }));
    const blobs = (await readdir(dest)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    if (blobs.length !== LAYERS + 1) throw new Error(`skopeo copy ${sources[path]}: ${blobs.length} blobs, expected ${LAYERS} layers and a config`);
    await rm(dest, { recursive: true, force: true });
    return ms;
  };
  return timeWarmRuns(
    "skopeo copy",
    [
      { path: "proxy", run: copy("proxy"), upstream: toProxy },
      { path: "peer", run: copy("peer"), upstream: toPeer },
      { path: "direct", run: copy("direct"), upstream: toDirect },
    ],
    config.runs,
  );
}

async function startRegistry(cleanup: Cleanup, registry: Registry): Promise<Registry> {
  cleanup.defer(`docker-registry ${registry.options.proxy ? "(pull-through)" : "(upstream)"}`, () => registry.destroy());
  return registry.start();
}
