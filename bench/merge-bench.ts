/**
 * `npm run bench:merge`: time and memory while a virtual merges two large npm packuments
 * (BENCH_PACKUMENT_MIB each, default 50 MiB, with BENCH_VERSIONS versions each, default 50,000,
 * half of them in both).
 * - In workerd (Miniflare), each row on a fresh workerd, the documents fetched one after the
 *   other from a loopback origin: only drained (the runtime's own share), merged by the streaming
 *   merge (fetch → TextDecoderStream → npmMergeStream → drain), and — for comparison — by
 *   JSON.parse and JSON.stringify; the merge rows drain the documents once before they are
 *   measured. RSS is sampled every 20 ms from /proc: it shows what the runtime holds, garbage
 *   not yet collected included.
 * - In Node (the same V8) with the heap capped at BENCH_HEAP_MIB (default 64, half a Workers
 *   isolate's 128 MB): the same two merges reading the documents from files. Target: the
 *   streaming merge completes under the cap (its live memory is bounded by the version count,
 *   not the documents' size); the JSON.parse merge is expected to run out of memory.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWorker } from "../infra/local/build-worker.ts";
import { memberBase } from "./merge-heap.ts";
import { Cleanup } from "./processes.ts";
import { documentOrigin, sampledRss, scriptOnMiniflare } from "./runtimes.ts";
import { fmt } from "./table.ts";

const MiB = 1 << 20;
const HEAP_MIB = Number(process.env.BENCH_HEAP_MIB ?? 64);
const size = Number(process.env.BENCH_PACKUMENT_MIB ?? 50) * MiB;
const versions = Number(process.env.BENCH_VERSIONS ?? 50_000);

/**
 * A packument of `count` versions from `first` on, padded to about `bytes`, its tarballs under
 * the member's base as the member's own rewrite leaves them, with `time` and `dist-tags`.
 */
function packument(member: string, first: number, count: number, bytes: number): Buffer {
  const manifest = (i: number, padding: string) => {
    const version = `1.0.${i}`;
    return `"${version}":${JSON.stringify({
      name: "big-package",
      version,
      description: padding,
      dist: { tarball: `${memberBase(member)}/big-package/-/big-package-${version}.tgz`, integrity: `sha512-${Buffer.alloc(64, i % 251).toString("base64")}`, shasum: "0".repeat(40) },
    })}`;
  };
  const time = Array.from({ length: count }, (_, n) => `"1.0.${first + n}":"2024-01-01T00:00:00.000Z"`).join(",");
  const head = `{"_id":"big-package","_rev":"1-${member}","name":"big-package","dist-tags":{"latest":"1.0.${first + count - 1}"},"time":{"created":"2020-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z",${time}},"versions":{`;
  const fixed = head.length + manifest(first, "").length * count + 2;
  const padding = "x".repeat(Math.max(0, Math.floor((bytes - fixed) / count)));
  const parts = [head];
  for (let n = 0; n < count; n++) parts.push(`${n ? "," : ""}${manifest(first + n, padding)}`);
  parts.push("}}");
  return Buffer.from(parts.join(""));
}

/** Runs one merge in a child Node whose heap is capped; null when it ran out of memory. */
function cappedMerge(mode: string, dir: string): Promise<{ bytes: number; routes: number; peakHeapMiB: number; ms: number; cpuMs: number } | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, join(import.meta.dirname, "merge-heap.ts"), mode, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(JSON.parse(out));
      else if (/heap out of memory/.test(err)) resolve(null);
      else reject(new Error(`the ${mode} merge exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

const cleanup = new Cleanup();
cleanup.onSignals();
const lines = ["| row | documents | workerd RSS before | peak | growth | time | result |", "| --- | --- | --- | --- | --- | --- | --- |"];
let pass = true;
try {
  const dir = await mkdtemp(join(tmpdir(), "bench-merge-"));
  cleanup.defer("temporary directory", () => rm(dir, { recursive: true, force: true }));
  // Members `a` (versions 0 … n-1) and `b` (n/2 … 3n/2-1): half of each in the other.
  const bodies: Record<string, Buffer> = { a: packument("a", 0, versions, size), b: packument("b", versions / 2, versions, size) };
  const originUrl = await documentOrigin(cleanup, (path) => bodies[path.slice(1)]!);
  const members = JSON.stringify(["a", "b"].map((name) => ({ name, kind: "remote", base: memberBase(name), url: `${originUrl}/${name}` })));
  const documents = `2 × ${fmt(bodies.a!.length / MiB)} MiB, 2 × ${versions.toLocaleString("en-US")} versions`;

  const row = (name: string, run: { baseline: number; peak: number }, ms: number, result: string) => {
    const growth = run.peak - run.baseline;
    lines.push(`| ${[name, documents, `${fmt(run.baseline)} MiB`, `${fmt(run.peak)} MiB`, `${fmt(growth)} MiB`, `${ms} ms`, result].join(" | ")} |`);
  };

  const bundle = await buildWorker(join(dir, "merge-worker"), join(import.meta.dirname, "merge-worker.ts"));
  /**
   * Each row on a fresh workerd, so one row's heap does not hide or inflate the next one's; a
   * merge row drains the documents once first, so the runtime's own buffers (the first row) are
   * not counted again as the merge's.
   */
  const probe = async (mode: string) => {
    const worker = await scriptOnMiniflare(cleanup, bundle, "merge-worker.js");
    if (worker.workerdPid === null) throw new Error("could not find the merge worker's workerd process");
    const run = (as: string) => fetch(`${worker.url}/?mode=${as}&members=${encodeURIComponent(members)}`).then((r) => r.json());
    if (mode !== "drain") await run("drain");
    return sampledRss(worker.workerdPid, run(mode));
  };

  const drained = await probe("drain");
  row("both documents drained (the runtime's own buffers)", drained, (drained.result as { ms: number }).ms, "not judged");
  const merged = await probe("stream");
  const seen = merged.result as { bytes: number; relinked: boolean; routes: number; served: string[]; ms: number };
  if (!seen.relinked || seen.routes !== versions * 1.5) throw new Error(`the merge is wrong: ${JSON.stringify(seen)}`);
  row("streaming merge (npmMergeStream)", merged, seen.ms, `${seen.routes.toLocaleString("en-US")} versions routed, ${fmt(seen.bytes / MiB)} MiB out; not judged`);
  const parsed = await probe("parse");
  const whole = parsed.result as { bytes: number; versions: number; ms: number };
  row("JSON.parse + JSON.stringify (for comparison)", parsed, whole.ms, `${whole.versions.toLocaleString("en-US")} versions, ${fmt(whole.bytes / MiB)} MiB out; not judged`);

  await Promise.all(["a", "b"].map((name) => writeFile(join(dir, `${name}.json`), bodies[name]!)));
  const heapLines = [`| row (Node, heap capped at ${HEAP_MIB} MiB) | documents | peak heap used | time (CPU) | result |`, "| --- | --- | --- | --- | --- |"];
  const streamed = await cappedMerge("stream", dir);
  pass = streamed !== null && streamed.routes === versions * 1.5;
  heapLines.push(
    `| streaming merge (npmMergeStream) | ${documents} | ${streamed ? `${fmt(streamed.peakHeapMiB)} MiB` : "out of memory"} | ${streamed ? `${streamed.ms} ms (${streamed.cpuMs} ms)` : "—"} | ${streamed ? `${streamed.routes.toLocaleString("en-US")} versions routed, ${fmt(streamed.bytes / MiB)} MiB out; ` : ""}${pass ? "PASS" : "FAIL"} |`,
  );
  const parsedCapped = await cappedMerge("parse", dir);
  heapLines.push(`| JSON.parse + JSON.stringify (for comparison) | ${documents} | ${parsedCapped ? "completed" : "out of memory"} | ${parsedCapped ? `${parsedCapped.ms} ms (${parsedCapped.cpuMs} ms)` : "—"} | not judged |`);

  console.log(lines.join("\n"));
  console.log();
  console.log(heapLines.join("\n"));
  console.log(`${pass ? "PASS" : "FAIL"}: the streaming merge completes with the heap capped at ${HEAP_MIB} MiB`);
} finally {
  await cleanup.unwind();
}
process.exit(pass ? 0 : 1);
