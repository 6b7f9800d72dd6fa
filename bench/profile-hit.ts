/**
 * `npm run profile:hit`: where a hot hit's time goes inside the Worker. Runs the proxy as
 * `npm start` does (embedded backends; `PROFILE_RUNTIME=workerd` for `npm run serve`'s runtime,
 * blobs in the fauxqs emulator), warms one small file, then samples the isolate's CPU through the
 * inspector (Chrome DevTools protocol) while wrk hits that file, and prints the functions and
 * files with the most self time. Loopback only; everything stops on exit.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFauxqs } from "fauxqs";
import WebSocket from "ws";
import { stringify } from "yaml";
import { freePort } from "../infra/local/free-port.ts";
import { startStack } from "../infra/local/stack.ts";
import { startWorkerdStack } from "../infra/local/workerd.ts";
import { wrk } from "./load.ts";

const seconds = Number(process.env.PROFILE_SECONDS ?? 8);
const runtime = process.env.PROFILE_RUNTIME ?? "miniflare";
const path = process.env.PROFILE_PATH ?? "/small.bin";
const TOP = Number(process.env.PROFILE_TOP ?? 40);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const body = randomBytes(1024);
const origin = createServer((request, response) => {
  response.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
  response.end(request.method === "HEAD" ? undefined : body);
});
await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

const dir = await mkdtemp(join(tmpdir(), "profile-hit-"));
const configPath = join(dir, "remotes.yaml");
await writeFile(configPath, stringify({ remotes: { files: { base_url: originUrl, allow_private_network: true } } }));
const inspectorPort = await freePort();
let s3: { stop(): Promise<void> } | undefined;
const env: Record<string, string> = {};
if (runtime === "workerd") {
  // The S3 API npm run serve needs: the fauxqs emulator in this Node process, as the bench's workerd column.
  const server = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  server.createBucket("profile");
  s3 = server;
  Object.assign(env, { S3_ENDPOINT: `http://127.0.0.1:${server.port}`, S3_BUCKET: "profile", S3_ACCESS_KEY_ID: "profile", S3_SECRET_ACCESS_KEY: "profile", S3_REGION: "us-east-1" });
}
const stack = await (runtime === "workerd" ? startWorkerdStack : startStack)({ configPath, dataDir: dir, env, inspectorPort, port: 0 });
try {
  const url = `${stack.url}/api/v1/remote/files${path}`;
  for (let i = 0; i < 3; i++) {
    const response = await fetch(url);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  }
  // Warm the isolate's JIT before sampling.
  await wrk(url, { seconds: 2, connections: 16, threads: 2 });
  const profile = await sampled(inspectorPort, () => wrk(url, { seconds, connections: 16, threads: 2 }));
  report(profile.profile, profile.result.requestsPerSecond);
} finally {
  await stack.stop();
  await s3?.stop();
  origin.close();
  await rm(dir, { recursive: true, force: true });
}

/** Runs `during` with the CPU profiler of the Worker's isolate on (100 µs sampling). */
async function sampled<T>(port: number, during: () => Promise<T>): Promise<{ profile: Profile; result: T }> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
  const target = targets.find((candidate) => !candidate.title?.includes("outbound")) ?? targets[0];
  if (!target) throw new Error("the inspector lists no isolate");
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: 100 });
    await send("Profiler.start");
    const result = await during();
    const { profile } = (await send("Profiler.stop")) as { profile: Profile };
    return { profile, result };
  } finally {
    socket.close();
  }
}

/** Self time per function and per file, largest first. */
function report(profile: Profile, requestsPerSecond: number): void {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((sample, index) => selfUs.set(sample, (selfUs.get(sample) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const total = [...selfUs.values()].reduce((sum, value) => sum + value, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [nodeId, us] of selfUs) {
    const frame = nodes.get(nodeId)!.callFrame;
    const file = frame.url ? frame.url.replace(/^.*\//, "") : "(native)";
    const name = `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    if (frame.functionName !== "(idle)") byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const idle = byFunction.get("(idle) (native):0") ?? 0;
  const busy = total - idle;
  console.log(`\n${runtime}: ${requestsPerSecond.toFixed(0)} req/s; isolate busy ${((busy / total) * 100).toFixed(0)}% of ${(total / 1e6).toFixed(1)} s sampled; ${(busy / (requestsPerSecond * seconds)).toFixed(0)} µs of CPU per hit\n`);
  const table = (title: string, rows: Map<string, number>) => {
    console.log(`| ${title} | self % of busy | µs per hit |\n| --- | --- | --- |`);
    for (const [name, us] of [...rows].filter(([name]) => !name.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
      console.log(`| ${name} | ${((us / busy) * 100).toFixed(1)} | ${(us / (requestsPerSecond * seconds)).toFixed(1)} |`);
    }
    console.log();
  };
  table("function", byFunction);
  table("file", byFile);
}
