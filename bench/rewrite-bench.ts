/**
 * `npm run bench:rewrite`: workerd's memory while a large npm packument (BENCH_PACKUMENT_MIB,
 * default 50 MiB) is rewritten. In one workerd, one after the other: the fetched body only
 * drained (what the runtime itself keeps of a body that size), only decoded and re-encoded, then
 * rewritten by the streaming rewriter (fetch → rewriteDocument → drain); then a miss of the same
 * packument through the proxy as `npm start` runs it, with the fill as it is on this branch.
 * RSS is sampled every 20 ms from /proc. Target: the rewrite grows RSS by ≤ 64 MiB.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFauxqs } from "fauxqs";
import { stringify } from "yaml";
import { buildWorker } from "../infra/local/build-worker.ts";
import { Cleanup } from "./processes.ts";
import { documentOrigin, proxyOnMiniflare, sampledRss, scriptOnMiniflare } from "./runtimes.ts";
import { fmt } from "./table.ts";

const MiB = 1 << 20;
const TARGET_MIB = 64;
const size = Number(process.env.BENCH_PACKUMENT_MIB ?? 50) * MiB;

/** A packument of about `bytes`: versions with a tarball link, an integrity and some padding, as big packages have. */
function packument(origin: string, bytes: number): Buffer {
  const parts: string[] = ['{"name":"big-package","dist-tags":{"latest":"1.0.0"},"versions":{'];
  let length = parts[0]!.length;
  const padding = "x".repeat(600);
  for (let i = 0; length < bytes; i++) {
    const version = `1.0.${i}`;
    const entry = `${i ? "," : ""}"${version}":${JSON.stringify({
      name: "big-package",
      version,
      description: padding,
      dist: { tarball: `${origin}/big-package/-/big-package-${version}.tgz`, integrity: `sha512-${Buffer.alloc(64, i % 251).toString("base64")}`, shasum: "0".repeat(40) },
    })}`;
    parts.push(entry);
    length += entry.length;
  }
  parts.push("}}");
  return Buffer.from(parts.join(""));
}

const cleanup = new Cleanup();
cleanup.onSignals();
const lines = ["| row | document | workerd RSS before | peak | growth | time | result |", "| --- | --- | --- | --- | --- | --- | --- |"];
let pass = true;
try {
  const dir = await mkdtemp(join(tmpdir(), "bench-rewrite-"));
  cleanup.defer("temporary directory", () => rm(dir, { recursive: true, force: true }));
  let body: Buffer = Buffer.alloc(0);
  const originUrl = await documentOrigin(cleanup, () => body);
  body = packument(originUrl, size);
  const document = `${fmt(body.length / MiB)} MiB`;

  const row = (name: string, run: { baseline: number; peak: number }, ms: number, result: string) => {
    const growth = run.peak - run.baseline;
    lines.push(`| ${[name, document, `${fmt(run.baseline)} MiB`, `${fmt(run.peak)} MiB`, `${fmt(growth)} MiB`, `${ms} ms`, result].join(" | ")} |`);
  };

  // The rewriter alone in workerd.
  const bundle = await buildWorker(join(dir, "rewrite-worker"), join(import.meta.dirname, "rewrite-worker.ts"));
  const alone = await scriptOnMiniflare(cleanup, bundle, "rewrite-worker.js");
  if (alone.workerdPid === null) throw new Error("could not find the rewriter's workerd process");
  const probe = (mode: string) => sampledRss(alone.workerdPid!, fetch(`${alone.url}/?mode=${mode}&url=${encodeURIComponent(`${originUrl}/big-package`)}`).then((r) => r.json()));
  const drained = await probe("drain");
  row("fetched body drained (fresh workerd: the runtime's own buffers)", drained, (drained.result as { ms: number }).ms, "not judged");
  const decoded = await probe("decode");
  row("decoded and re-encoded (TextDecoderStream → TextEncoderStream)", decoded, (decoded.result as { ms: number }).ms, "not judged");
  const rewrite = await probe("rewrite");
  const seen = rewrite.result as { bytes: number; rewritten: boolean; digests: number; ms: number };
  if (!seen.rewritten) throw new Error("the rewriter's output does not point at the proxy");
  const growth = rewrite.peak - rewrite.baseline;
  pass = growth <= TARGET_MIB;
  row("streaming rewrite (rewriteDocument, npm)", rewrite, seen.ms, `${seen.digests} tarball digests recorded, ${fmt(seen.bytes / MiB)} MiB out; ${pass ? "PASS" : "FAIL"} (≤ ${TARGET_MIB} MiB)`);

  // A miss through the proxy as `npm start` runs it.
  const configPath = join(dir, "remotes.yaml");
  await writeFile(
    configPath,
    stringify({ remotes: { npm: { base_url: originUrl, package: "npm", allow_private_network: true }, files: { base_url: originUrl, allow_private_network: true } } }),
  );
  // Once with local R2 (the simulator runs inside the same workerd, so its buffers count) and
  // once with the blobs in S3 (fauxqs in this Node process): the second is the proxy's own share.
  const s3 = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  cleanup.defer("S3 emulator", () => s3.stop());
  s3.createBucket("rewrite");
  const s3Env = { S3_ENDPOINT: `http://127.0.0.1:${s3.port}`, S3_BUCKET: "rewrite", S3_ACCESS_KEY_ID: "bench", S3_SECRET_ACCESS_KEY: "bench", S3_REGION: "us-east-1" };
  for (const [blobs, env] of [["local R2", {}], ["S3 outside workerd", s3Env]] as const) {
    const proxy = await proxyOnMiniflare(cleanup, { configPath, dataDir: join(dir, `data-${blobs.replace(/\W+/g, "-")}`), env });
    if (proxy.workerdPid === null) throw new Error("could not find the proxy's workerd process");
    const missOf = async (path: string, accept?: string) => {
      const started = Date.now();
      const run = await sampledRss(proxy.workerdPid!, fetch(`${proxy.url}${path}`, { headers: accept ? { accept } : {} }).then((r) => r.arrayBuffer().then((b) => ({ status: r.status, bytes: b.byteLength }))));
      return { ...run, ms: Date.now() - started };
    };
    // The same bytes as a plain file first: the fill's own share (and the runtime's first-use buffers) without rewriting.
    const plain = await missOf("/api/v1/remote/files/big-package?as=file");
    row(`miss of the same bytes as a plain file, ${blobs} (fresh workerd: no rewrite)`, plain, plain.ms, `status ${plain.result.status}, ${fmt(plain.result.bytes / MiB)} MiB served; not judged`);
    const miss = await missOf("/api/v1/remote/npm/big-package", "application/json");
    const missGrowth = miss.peak - miss.baseline;
    const missPass = missGrowth <= TARGET_MIB;
    pass &&= missPass;
    row(`miss of the packument through the proxy, ${blobs} (streamed rewrite, stored, answered once stored)`, miss, miss.ms, `status ${miss.result.status}, ${fmt(miss.result.bytes / MiB)} MiB served; ${missPass ? "PASS" : "FAIL"} (≤ ${TARGET_MIB} MiB)`);
  }

  console.log(lines.join("\n"));
  console.log(`${pass ? "PASS" : "FAIL"}: the streaming rewrite, alone and in a miss through the proxy, grows workerd's RSS by at most ${TARGET_MIB} MiB`);
} finally {
  await cleanup.unwind();
}
process.exit(pass ? 0 : 1);
