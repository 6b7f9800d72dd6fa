/**
 * `npm run bench:edge-cache`: what the Workers Cache API (`BLOB_CACHE_API=on`,
 * functions/proxy/edge-cache.ts) costs and saves under Miniflare. The same large file is hit on
 * two proxies as `npm start` runs them (embedded backends, local R2), one with the Cache API on:
 * the first hit (which, with it on, also copies the blob into the cache in the background) and
 * the median of later hits. Loopback only; everything stops on exit.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { startStack } from "../infra/local/stack.ts";
import { median, transfer } from "./load.ts";

const MiB = 1 << 20;
const sizeMiB = Number(process.env.BENCH_LARGE_MIB ?? 100);
const runs = Number(process.env.BENCH_RUNS ?? 5);

const dir = await mkdtemp(join(tmpdir(), "bench-edge-cache-"));
const file = join(dir, "large.bin");
await writeFile(file, randomBytes(sizeMiB * MiB));
const size = (await stat(file)).size;
const origin = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
  createReadStream(file).pipe(response);
});
await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));
const configPath = join(dir, "remotes.yaml");
await writeFile(configPath, stringify({ remotes: { files: { base_url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`, allow_private_network: true } } }));

const loadBefore = loadavg()[0]!;
const rows: string[] = [];
try {
  for (const cacheApi of ["off", "on"]) {
    const stack = await startStack({ configPath, dataDir: join(dir, `proxy-${cacheApi}`), env: { BLOB_CACHE_API: cacheApi }, port: 0 });
    try {
      const url = `${stack.url}/api/v1/remote/files/large.bin`;
      const miss = await transfer(url);
      if (miss.status !== 200 || miss.bytes !== size) throw new Error(`miss: ${miss.status}, ${miss.bytes} bytes`);
      // The copy is stored and promoted after the response: wait until a HEAD says it is a hit.
      for (let tries = 0; (await fetch(url, { method: "HEAD" })).headers.get("x-artifact-source") !== "cache"; tries++) {
        if (tries > 600) throw new Error("the miss was never stored");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const first = await transfer(url);
      // With the Cache API on, the first hit's background copy into the cache runs after its response.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const later: number[] = [];
      for (let i = 0; i < runs; i++) {
        const hit = await transfer(url);
        if (hit.status !== 200 || hit.bytes !== size) throw new Error(`hit: ${hit.status}, ${hit.bytes} bytes`);
        later.push(hit.bytes / MiB / (hit.totalMs / 1_000));
      }
      const firstMiBps = first.bytes / MiB / (first.totalMs / 1_000);
      rows.push(`| ${cacheApi} | ${firstMiBps.toFixed(0)} | ${median(later).toFixed(0)} | ${Math.min(...later).toFixed(0)} – ${Math.max(...later).toFixed(0)} |`);
      console.error(`bench: Cache API ${cacheApi}: first hit ${firstMiBps.toFixed(0)} MiB/s, later ${later.map((value) => value.toFixed(0)).join(", ")} MiB/s`);
    } finally {
      await stack.stop();
    }
  }
} finally {
  origin.close();
  await rm(dir, { recursive: true, force: true });
}
console.log(`\n### Workers Cache API under Miniflare, ${sizeMiB} MiB hit (curl, ${runs} later hits)\n`);
console.log("| BLOB_CACHE_API | first hit MiB/s | later hits MiB/s (median) | later hits range |\n| --- | --- | --- | --- |");
for (const row of rows) console.log(row);
console.log(`\nLoad average (1 min) ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after.`);
