/**
 * `npm start`: the proxy on this machine. With no backend variables set it runs on the
 * embedded default (PGlite, local R2 under .data/); see README.md for the variables.
 * `npm run serve` (`--workerd`): the same on workerd itself, without Miniflare (blobs in S3).
 */
import { randomBytes } from "node:crypto";
import { ConfigError } from "../../functions/config/schema.ts";
import { startStack } from "./stack.ts";
import { startWorkerdStack } from "./workerd.ts";

const env = process.env;
if (!env.ADMIN_TOKEN) {
  // The management API is never open: without a configured token, this run gets its own.
  env.ADMIN_TOKEN = randomBytes(24).toString("base64url");
  console.log(`ADMIN_TOKEN was not set; this run's admin token (printed once): ${env.ADMIN_TOKEN}`);
}
const host = env.HOST ?? "127.0.0.1";
if (!env.PUBLIC_URL && !["127.0.0.1", "localhost", "::1"].includes(host)) {
  console.log("PUBLIC_URL is not set: rewritten indexes link to whatever Host clients send; set PUBLIC_URL to this proxy's public URL.");
}
try {
  const start = process.argv.includes("--workerd") ? startWorkerdStack : startStack;
  const stack = await start({
    host,
    port: Number(env.PORT ?? 8000),
    configPath: env.ARTIFACTAPI_CONFIG ?? "remotes.yaml",
    dataDir: env.ARTIFACTAPI_DATA_DIR ?? ".data",
    env,
    inspectorPort: env.INSPECTOR_PORT ? Number(env.INSPECTOR_PORT) : undefined,
    log: (line) => console.log(line),
  });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping…");
    await stack.stop();
    process.exit(0);
  };
  // This launcher owns the process: Miniflare's own signal hook would exit before the stack
  // (PGlite, the bridges) is stopped cleanly.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(signal);
    process.on(signal, shutdown);
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
