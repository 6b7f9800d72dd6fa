import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { startFauxqs } from "fauxqs";
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

/** One row of the table: a transfer against a fresh proxy at `base`. */
interface Measurement {
  name: string;
  work: (base: string) => Promise<Transfer>;
  /** A PUT whose RSS is held to the target (the Worker's own path: no copy through the isolate). */
  rssTarget?: boolean;
  /** The bytes it moves, when not the upload size. */
  bytes?: number;
}

/** Issue 11's docker figure: one layer of this size pushed to a docker local. */
const LAYER_BYTES = 64 * MiB;

/**
 * The third table of `npm run bench` (BENCH_ONLY=uploads): a large generic upload (`curl -T`)
 * into a local repository, next to the same bytes fetched through a remote (a miss streamed from
 * nginx into the blob store), with workerd's RSS sampled during each. Once on local R2 (as
 * `npm start` runs: the R2 simulator lives in the same workerd process, so its memory shows in
 * the figure) and once on S3 (the fauxqs emulator, in this Node process: the figure is the
 * Worker's own), and a 64 MiB layer pushed to a docker local on each. Every row runs on a fresh
 * workerd, so one row's growth is not the next one's
 * baseline; each blob store gets its own Postgres database and Redis.
 */
export async function uploadBench(cleanup: Cleanup, dir: string, config: UploadBenchConfig): Promise<void> {
  const bytes = config.uploadBytes;
  const size = formatSize(bytes);
  const loadBefore = loadavg()[0]!;
  const filesDir = join(dir, "files");
  await mkdir(filesDir, { recursive: true });
  for (const [name, length] of [["cached.bin", bytes], ["new.bin", bytes], ["warm.bin", MiB], ["layer.bin", LAYER_BYTES]] as const) await writeRandomFile(join(filesDir, name), length);
  const layerDigest = `sha256:${createHash("sha256").update(await readFile(join(filesDir, "layer.bin"))).digest("hex")}`;
  const nginx = await startNginx(cleanup, join(dir, "nginx"), filesDir, 1);
  const s3 = await startFauxqs({ port: 0, logger: false, host: "127.0.0.1" });
  cleanup.defer("S3 emulator", () => s3.stop());
  s3.createBucket("uploads");
  const s3Env = { S3_ENDPOINT: `http://127.0.0.1:${s3.port}`, S3_BUCKET: "uploads", S3_ACCESS_KEY_ID: "bench", S3_SECRET_ACCESS_KEY: "bench", S3_REGION: "us-east-1" };

  const remote = (base: string) => transfer(`${base}/api/v1/remote/origin/cached.bin`);
  const put = (file: string) => (base: string) => upload(join(filesDir, file), `${base}/api/v1/local/uploads/big/${file}`);
  const get = (base: string) => transfer(`${base}/api/v1/local/uploads/big/new.bin`);
  // The registry's monolithic upload: one POST with the digest, the layer as the body.
  const layer = { bytes: LAYER_BYTES, work: (base: string) => upload(join(filesDir, "layer.bin"), `${base}/v2/registry/bench/image/blobs/uploads/?digest=${layerDigest}`, "POST") };
  const backends: { name: string; env: Record<string, string>; rows: Measurement[] }[] = [
    {
      name: "local R2",
      env: {},
      rows: [
        { name: "fetched through a remote (a miss, streamed into the blob store)", work: remote },
        { name: "PUT of the same bytes into a generic local (at their content address already)", work: put("cached.bin"), rssTarget: true },
        { name: "PUT of new bytes (then copied to their content address through the isolate)", work: put("new.bin") },
        { name: "GET of those bytes back from the local", work: get },
        { name: `push of a ${formatSize(LAYER_BYTES)} layer to a docker local (POST …/blobs/uploads/?digest=)`, ...layer },
      ],
    },
    {
      name: "S3 (fauxqs, outside workerd)",
      env: s3Env,
      rows: [
        { name: "fetched through a remote (a miss)", work: remote },
        { name: "PUT of new bytes into a generic local (server-side copy to their content address)", work: put("new.bin"), rssTarget: true },
        { name: "GET of those bytes back from the local", work: get },
        { name: `push of a ${formatSize(LAYER_BYTES)} layer to a docker local (POST …/blobs/uploads/?digest=)`, ...layer },
      ],
    },
  ];

  const results: (Row & { backend: string; rssTarget?: boolean; bytes: number })[] = [];
  for (const backend of backends) {
    const redisUrl = await startRedis(cleanup);
    const database = await createDatabase(cleanup, "uploads");
    const configPath = join(dir, `remotes-${results.length}.yaml`);
    await writeFile(configPath, stringify({ remotes: { uploads: { type: "local", max_upload_size: 2 * bytes }, registry: { type: "local", package: "docker" }, origin: { base_url: nginx.originUrl, allow_private_network: true } } }));
    const options = { configPath, dataDir: join(dir, `proxy-${results.length}`), env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, ADMIN_TOKEN, ...backend.env } };
    for (const row of backend.rows) {
      // A workerd of its own, warmed by a small upload, download and miss first.
      const mark = cleanup.mark();
      try {
        const proxy = await proxyOnMiniflare(cleanup, options);
        if (proxy.workerdPid === null) throw new Error("could not find the workerd process to sample");
        const warm = `${proxy.url}/api/v1/local/uploads/warm/${randomBytes(4).toString("hex")}.bin`;
        await upload(join(filesDir, "warm.bin"), warm);
        await transfer(warm);
        await transfer(`${proxy.url}/api/v1/remote/origin/warm.bin`);
        const label = `${backend.name}: ${row.name}`;
        results.push({ ...(await sampled(proxy.workerdPid, label, row.bytes ?? bytes, () => row.work(proxy.url))), backend: backend.name, rssTarget: row.rssTarget, bytes: row.bytes ?? bytes });
      } finally {
        await cleanup.unwind(mark);
      }
    }
  }
  const origin = await transfer(`${nginx.originUrl}/new.bin`);

  console.log(`\n## uploads to a local repository (${config.quick ? "BENCH_QUICK smoke run" : "full run"}, loopback, ${new Date().toISOString()})\n`);
  console.log(`| ${size} | MiB/s | seconds | workerd RSS MiB before / peak / after |\n| --- | --- | --- | --- |`);
  for (const { name, result, rss, bytes } of results) {
    console.log(`| ${name} | ${fmt(bytes / MiB / (result.totalMs / 1000))} | ${fmt(result.totalMs / 1000)} | ${fmt(rss.before, 0)} / ${fmt(rss.peak, 0)} / ${fmt(rss.after, 0)} |`);
  }
  console.log(`| straight from nginx, for reference | ${fmt(bytes / MiB / (origin.totalMs / 1000))} | ${fmt(origin.totalMs / 1000)} | |`);
  console.log(
    `\nThe proxy as \`npm start\` runs it (one workerd through Miniflare's API) on Postgres and Redis. Local R2 is a simulator ` +
      `(~30 MiB/s writes) in the same workerd process; R2 has no server-side copy, so new bytes are streamed through the isolate ` +
      `once more to their content address. Load average (1 min) ${fmt(loadBefore)} before, ${fmt(loadavg()[0]!)} after; 2 shared cores: the figures are noisy.`,
  );
  // The bound of a huge miss (bench/run.ts), on the Worker's own path: a PUT with no copy, and every PUT on S3.
  const limit = Math.max(256, bytes / MiB / 4);
  for (const row of results.filter((result) => result.rssTarget)) {
    const growth = row.rss.peak - row.rss.before;
    console.log(`- ${growth <= limit ? "PASS" : "FAIL"} workerd RSS bounded during a ${size} PUT (${row.backend}): peak − before = ${fmt(growth, 0)} MiB (target ≤ ${limit} MiB)`);
  }
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

/**
 * `curl -T` with the admin token, or with `method` a body from the file (-T would append the
 * file's name to a URL that ends in "/"); `bytes` counts what was sent.
 */
async function upload(file: string, url: string, method?: string): Promise<Transfer> {
  const body = method ? ["-X", method, "-H", "content-type: application/octet-stream", "--data-binary", `@${file}`] : ["-T", file];
  const output = await run(
    "curl",
    ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{time_total} %{size_upload}", ...body, "-H", `Authorization: Bearer ${ADMIN_TOKEN}`, url],
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
