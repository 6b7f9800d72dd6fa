/**
 * One merge of bench/merge-bench.ts in a Node of its own, whose heap the bench caps: reads the
 * two packuments `a.json` and `b.json` from the folder given, merges them (`stream`: the
 * streaming merge, 64 KiB pieces; `parse`: JSON.parse and JSON.stringify) and prints what it saw.
 */
import { openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { npmMergeStream } from "../providers/merge/npm.ts";

const MiB = 1 << 20;

export const memberBase = (name: string) => `https://dl.example.com/api/v1/remote/${name}`;

function mergeFiles(mode: string, dir: string): void {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const encoder = new TextEncoder();
  let bytes = 0;
  let routes = 0;
  let peakHeap = 0;
  if (mode === "parse") {
    const [first, ...rest] = ["a", "b"].map((name) => JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as { versions: Record<string, unknown> });
    for (const document of rest) for (const [version, manifest] of Object.entries(document.versions)) first!.versions[version] ??= manifest;
    bytes = encoder.encode(JSON.stringify(first)).byteLength;
    routes = Object.keys(first!.versions).length;
  } else {
    const answers = ["a", "b"].map((name) => ({ member: { name, kind: "remote" as const }, status: "found" as const, base: memberBase(name) }));
    const merge = npmMergeStream(answers, { virtualBase: "https://dl.example.com/api/v1/virtual/npm", path: "big-package" });
    const piece = Buffer.alloc(64 << 10);
    let pieces = 0;
    for (let answer = merge.next(); answer; answer = merge.next()) {
      const file = openSync(join(dir, `${answer.member.name}.json`), "r");
      const decoder = new TextDecoder();
      for (let read; (read = readSync(file, piece, 0, piece.length, null)) > 0; ) {
        bytes += encoder.encode(merge.write(decoder.decode(piece.subarray(0, read), { stream: true }))).byteLength;
        if (++pieces % 16 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      }
      bytes += encoder.encode(merge.endMember()).byteLength;
    }
    bytes += encoder.encode(merge.end()).byteLength;
    routes = merge.result.routes.size;
  }
  const ms = Math.round(performance.now() - started);
  console.log(JSON.stringify({ bytes, routes, peakHeapMiB: peakHeap / MiB, ms, cpuMs: Math.round(process.cpuUsage(cpu).user / 1000) }));
}

if (import.meta.main) mergeFiles(process.argv[2]!, process.argv[3]!);
