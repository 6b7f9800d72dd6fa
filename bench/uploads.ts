import { randomBytes } from "node:crypto";
import { mkdir, open, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { createDatabase, startRedis } from "./backends.ts";
import { formatSize, type UploadBenchConfig } from "./config.ts";
import { transfer, type Transfer } from "./load.ts";
import { startNginx } from "./nginx.ts";
import { run, type Cleanup } from "./processes.ts";
import { proxyOnMiniflare, rssMiB } from "./runtimes.ts";
import { fmt } from "./table.ts";

const MiB = 1 << 20;
const ADMIN_TOKEN = randomBytes(16).toString("hex");

interface Row {
  name: string;
  result: Transfer;
  rss: { before: number; peak: number; after: number };
}

/**
 * The third table of `npm run bench` (BENCH_ONLY=uploads): a large generic upload (`curl -T`)
 * into a local repository, next to the same bytes fetched through a remote (a miss streamed from
 * nginx into the blob store), with workerd's RSS sampled during each. Every row runs on a fresh
 * workerd (same Postgres database, Redis and local R2), so one row's growth is not the next one's
 * baseline.
 */
export async function uploadBench(cleanup: Cleanup, dir: string, config: UploadBenchConfig): Promise<void> {
  const bytes = config.uploadBytes;
  const size = formatSize(bytes);
  const loadBefore = loadavg()[0]!;
  const filesDir = join(dir, "files");
  await mkdir(filesDir, { recursive: true });
  for (const [name, length] of [["cached.bin", bytes], ["new.bin", bytes], ["warm.bin", MiB]] as const) await writeRandomFile(join(filesDir, name), length);
  const nginx = await startNginx(cleanup, join(dir, "nginx"), filesDir, 1);
  const redisUrl = await startRedis(cleanup);
  const database = await createDatabase(cleanup, "uploads");
  const configPath = join(dir, "remotes.yaml");
  await writeFile(configPath, stringify({ remotes: { uploads: { type: "local", max_upload_size: 2 * bytes }, origin: { base_url: nginx.originUrl, allow_private_network: true } } }));
  const options = { configPath, dataDir: join(dir, "proxy"), env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, ADMIN_TOKEN } };

  /** One row on a workerd of its own, warmed by a small upload, download and miss first. */
  const row = async (name: string, work: (base: string) => Promise<Transfer>): Promise<Row> => {
    const mark = cleanup.mark();
    try {
      const proxy = await proxyOnMiniflare(cleanup, options);
      if (proxy.workerdPid === null) throw new Error("could not find the workerd process to sample");
      const warm = `${proxy.url}/api/v1/local/uploads/warm/${randomBytes(4).toString("hex")}.bin`;
      await upload(join(filesDir, "warm.bin"), warm);
      await transfer(warm);
      await transfer(`${proxy.url}/api/v1/remote/origin/warm.bin`);
      return await sampled(proxy.workerdPid, name, bytes, () => work(proxy.url));
    } finally {
      await cleanup.unwind(mark);
    }
  };
  const local = (base: string, file: string) => `${base}/api/v1/local/uploads/big/${file}`;
  const rows = [
    await row(`${size} fetched through a remote (a miss, streamed into the blob store)`, (base) => transfer(`${base}/api/v1/remote/origin/cached.bin`)),
    await row(`PUT of the same ${size} into a generic local (its bytes are at their content address already)`, (base) => upload(join(filesDir, "cached.bin"), local(base, "cached.bin"))),
    await row(`PUT of ${size} of new bytes (then moved to their content address)`, (base) => upload(join(filesDir, "new.bin"), local(base, "new.bin"))),
    await row(`GET of those ${size} back from the local`, (base) => transfer(local(base, "new.bin"))),
  ];
  const origin = await transfer(`${nginx.originUrl}/new.bin`);

  console.log(`\n## uploads to a local repository (${config.quick ? "BENCH_QUICK smoke run" : "full run"}, loopback, ${new Date().toISOString()})\n`);
  console.log(`| ${size} | MiB/s | seconds | workerd RSS MiB before / peak / after |\n| --- | --- | --- | --- |`);
  for (const { name, result, rss } of rows) {
    console.log(`| ${name} | ${fmt(bytes / MiB / (result.totalMs / 1000))} | ${fmt(result.totalMs / 1000)} | ${fmt(rss.before, 0)} / ${fmt(rss.peak, 0)} / ${fmt(rss.after, 0)} |`);
  }
  console.log(`| ${size} straight from nginx, for reference | ${fmt(bytes / MiB / (origin.totalMs / 1000))} | ${fmt(origin.totalMs / 1000)} | |`);
  console.log(
    `\nThe proxy as \`npm start\` runs it on Postgres, Redis and local R2 (a simulator that writes ~30 MiB/s; R2 has no ` +
      `server-side copy, so moving new bytes to their content address streams them through the isolate once more). ` +
      `Load average (1 min) ${fmt(loadBefore)} before, ${fmt(loadavg()[0]!)} after; 2 shared cores: the figures are noisy.`,
  );
  // The bound of a huge miss (bench/run.ts), for the Worker's own path: the PUT whose bytes need no copy.
  const limit = Math.max(256, bytes / MiB / 4);
  const put = rows[1]!;
  const growth = put.rss.peak - put.rss.before;
  console.log(`\n${growth <= limit ? "PASS" : "FAIL"} workerd RSS bounded during a ${size} PUT: peak − before = ${fmt(growth, 0)} MiB (target ≤ ${limit} MiB)`);
}

/** One transfer with workerd's RSS sampled every 200 ms; checks that it moved the whole file. */
async function sampled(pid: number, name: string, bytes: number, work: () => Promise<Transfer>): Promise<Row> {
  const before = await rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => void rssMiB(pid).then((value) => (peak = Math.max(peak, value)), () => {}), 200);
  let result: Transfer;
  try {
    result = await work();
  } finally {
    clearInterval(sampler);
  }
  const after = await rssMiB(pid);
  if (result.status >= 300 || result.bytes !== bytes) throw new Error(`${name}: status ${result.status}, ${result.bytes} of ${bytes} bytes`);
  console.error(`bench: ${name}: ${fmt(result.totalMs / 1000)} s; RSS ${fmt(before, 0)} → peak ${fmt(peak, 0)} → ${fmt(after, 0)} MiB`);
  return { name, result, rss: { before, peak, after } };
}

/** `curl -T` with the admin token; `bytes` counts what was sent. */
async function upload(file: string, url: string): Promise<Transfer> {
  const output = await run(
    "curl",
    ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{time_total} %{size_upload}", "-T", file, "-H", `Authorization: Bearer ${ADMIN_TOKEN}`, url],
    1_800_000,
  );
  const [status, ttfb, total, sent] = output.trim().split(" ").map(Number);
  return { status: status!, ttfbMs: ttfb! * 1_000, totalMs: total! * 1_000, bytes: sent! };
}

/** Random bytes, so nothing on the way can compress them; written a MiB at a time. */
async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, "w");
  try {
    for (let written = 0; written < bytes; written += MiB) await handle.write(randomBytes(Math.min(MiB, bytes - written)));
  } finally {
    await handle.close();
  }
}
