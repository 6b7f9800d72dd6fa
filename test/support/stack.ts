import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { OutboundSeam } from "../../infra/local/outbound-guard.ts";
import { startStack, type Stack } from "../../infra/local/stack.ts";

declare module "vitest" {
  interface ProvidedContext {
    /** The Worker bundle built once by test/integration/global-setup.ts. */
    workerBundle: string;
  }
}

export interface TestStack extends Stack {
  dataDir: string;
  /** Stops and starts again on the same data directory, as a user's restart would (optionally with an edited remotes file). */
  restart(remotes?: Record<string, unknown>): Promise<TestStack>;
  /** Stops and removes the data directory. */
  destroy(): Promise<void>;
}

export interface TestStackOptions {
  remotes: Record<string, unknown>;
  /** The remotes file's `virtuals:` section. */
  virtuals?: Record<string, unknown>;
  /** Backend variables (DATABASE_URL, REDIS_URL, S3_*…); empty = the embedded default. */
  env?: Record<string, string | undefined>;
  dataDir?: string;
  /** Host names answered in Node (public-looking names for loopback origins); the rest goes through the outbound guard. */
  outbound?: OutboundSeam;
  /** A Worker bundle built elsewhere (a benchmark outside Vitest); default: the one the integration setup built. */
  bundleDir?: string;
}

/** The proxy exactly as `npm start` runs it, on a free port, with a temporary data directory. */
export async function startTestStack(options: TestStackOptions): Promise<TestStack> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "artifactapi-test-")));
  const configPath = join(dataDir, "remotes.yaml");
  await writeFile(configPath, stringify({ remotes: options.remotes, ...(options.virtuals ? { virtuals: options.virtuals } : {}) }));
  // Imported only under Vitest: a benchmark passes its own bundle.
  const bundleDir = options.bundleDir ?? (await import("vitest")).inject("workerBundle");
  const stack = await startStack({ port: 0, configPath, dataDir, env: options.env ?? {}, bundleDir, outbound: options.outbound });
  return {
    ...stack,
    dataDir,
    async restart(remotes = options.remotes) {
      await stack.stop();
      return startTestStack({ ...options, remotes, dataDir });
    },
    async destroy() {
      await stack.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Remote names unique to this run, so runs sharing one Redis or Postgres never see each other's keys. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}
