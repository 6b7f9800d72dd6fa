import { spawn } from "node:child_process";
import { join, resolve } from "node:path";

const root = resolve(new URL("../..", import.meta.url).pathname);

/**
 * Bundles the Worker exactly as `wrangler deploy` would (the same bundle ships to Cloudflare);
 * `entry` bundles another module with the same settings (the benchmark's probes).
 */
export async function buildWorker(outDir: string, entry?: string): Promise<string> {
  const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [wrangler, "deploy", ...(entry ? [entry] : []), "--dry-run", "--outdir", outDir], {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolvePromise() : reject(new Error(`worker build failed:\n${output}`))));
  });
  return outDir;
}
