import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";
import { stringify } from "yaml";
import type { Stack } from "../../infra/local/stack.ts";
import { startWorkerdStack } from "../../infra/local/workerd.ts";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { sha256 } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { uniqueName } from "../support/stack.ts";

/**
 * Issue 14, waiters that stream: clients that ask for one cold file at once all read it as it
 * lands (the fill coordinator), even from an upstream that sends the first 8 MiB before a
 * waiter's first poll: on workerd itself with S3 (`npm run serve`), where a fill is fast enough
 * for that (under Miniflare, local R2 paces it). A waiter that read it live is answered with
 * `X-Artifact-Source: remote`; one that waited for the commit, with `cache`.
 */
describe("concurrent cold requests", () => {
  const origin = new Origin();
  const name = uniqueName("waiters");
  const file = randomBytes(24 * 1024 * 1024);
  let backends: ExternalBackends;
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    origin.serve("/cold.bin", file);
    await origin.start();
    backends = await startExternalBackends();
    dir = await mkdtemp(join(tmpdir(), "artifactapi-waiters-"));
    const configPath = join(dir, "remotes.yaml");
    await writeFile(configPath, stringify({ remotes: { [name]: { base_url: origin.url, allow_private_network: true } } }));
    stack = await startWorkerdStack({ port: 0, configPath, dataDir: dir, env: backends.env, bundleDir: inject("workerBundle") });
  });

  afterAll(async () => {
    await stack?.stop();
    await backends?.stop();
    await origin.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("all read a fast upstream's file live, from one upstream request", async () => {
    const url = `${stack.url}/api/v1/remote/${name}/cold.bin`;
    const responses = await Promise.all(Array.from({ length: 8 }, () => fetch(url)));
    const bodies = await Promise.all(responses.map(async (response) => Buffer.from(await response.arrayBuffer())));
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 200));
    expect(new Set(bodies.map((body) => sha256(body)))).toEqual(new Set([sha256(file)]));
    expect(responses.map((response) => response.headers.get("x-artifact-source"))).toEqual(responses.map(() => "remote"));
    expect(origin.count("/cold.bin")).toBe(1);
  });
});
