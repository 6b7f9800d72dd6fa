import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildWorker } from "../../infra/local/build-worker.ts";

/** Bundles the Worker once (as `wrangler deploy` would) for every stack the tests start. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-bundle-"));
  project.provide("workerBundle", await buildWorker(dir));
  return () => rm(dir, { recursive: true, force: true });
}
