/**
 * `npm run bench`: the proxy against its runtime's empty handler, nginx proxy_cache and the origin
 * directly, all on loopback in one run; prints one markdown table and the targets, then a second one
 * with real clients (bench/clients.ts) and a third with uploads to a local repository (bench/uploads.ts).
 * BENCH_ONLY=cache|clients|uploads runs one of them. See bench/README.md.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import Redis from "ioredis";
import { CONFIG_VERSION_KEY } from "../functions/config/cache.ts";
import { buildWorker } from "../infra/local/build-worker.ts";
import { countRedisCommands, createDatabase, perRequest, readPostgresCounts, startRedis, startS3, STATS_SETTLE_MS } from "./backends.ts";
import { clientBench, missingClientTools } from "./clients.ts";
import { benchConfig, benchSections, clientBenchConfig, formatSize, uploadBenchConfig, type BenchConfig } from "./config.ts";
import { hitLoop, median, transfer, wrk, type Transfer, type WrkResult } from "./load.ts";
import { startNginx } from "./nginx.ts";
import { startPeers, type Peers } from "./peers.ts";
import { available, Cleanup } from "./processes.ts";
import {
  emptyOnMiniflare,
  emptyOnWorkerd,
  emptyOnWrangler,
  proxyOnMiniflare,
  proxyOnWorkerd,
  proxyOnWrangler,
  rssMiB,
  scriptOnMiniflare,
  scriptOnWrangler,
  scriptOnWorkerd,
  type Running,
} from "./runtimes.ts";
import { fmt, Table } from "./table.ts";
import { uploadBench } from "./uploads.ts";

/** Tables the stats recorder writes in its batched flush (local_files: a local's file hits, one UPDATE with the artifacts'); anything else would be the hit path itself. */
const STATS_TABLES = new Set(["usage_minutes", "artifact_usage_hours", "artifacts", "local_files", "events"]);

const MiB = 1 << 20;
const FILES = { small: "small.bin", large: "large.bin", huge: "huge.bin" } as const;
/** The virtual of the merged-document row, and the packument its members serve (a static file on the origin). */
const VIRTUAL = "bench-virtual";
const PACKUMENT = "bench-pkg";
type FileName = keyof typeof FILES;

/** How to reach one file on a target: as a hit (the same URL every time) or a miss (a URL never asked before). */
interface Target {
  hit(file: FileName): string;
  miss(file: FileName): string;
  /** Returns once a miss's copy is stored, so the next measurement does not share the machine with it. */
  settle(url: string): Promise<void>;
  /** What a hit answers with to show it came from the cache, checked once before measuring. */
  cacheHeader?: [string, string];
}

interface CacheRows {
  smallHit: WrkResult;
  largeHitMiBps: number;
  miss: Record<"small" | "large", { ttfbMs: number; totalMs: number }>;
}

const config = benchConfig(process.env);
const sizes: Record<FileName, number> = { small: config.smallBytes, large: config.largeBytes, huge: config.hugeBytes };
const label = (file: FileName) => formatSize(sizes[file]);
type Runtime = BenchConfig["runtimes"][number];
const RUNTIME_NAMES: Record<Runtime, string> = { miniflare: "miniflare", wrangler: "wrangler dev", workerd: "workerd" };
/** Every runtime has its blob floor (wrangler dev's R2 is Miniflare's again, behind its two more hops). */
const FLOOR_RUNTIMES = config.runtimes;
const COLUMNS = {
  miniflare: "proxy (miniflare)",
  wrangler: "proxy (wrangler dev)",
  workerd: "proxy (workerd, S3: fauxqs)",
  empty: `empty handler (${config.runtimes.map((runtime) => RUNTIME_NAMES[runtime]).join(" · ")})`,
  floor: `blob floor: a handler that only streams the stored object (${FLOOR_RUNTIMES.map((runtime) => RUNTIME_NAMES[runtime]).join(" · ")})`,
  peers: "the ecosystem's own cache (verdaccio uplink · distribution proxy:)",
  nginx: "nginx proxy_cache",
  origin: "origin direct",
  ratio: "ratio vs target",
} as const;
const table = new Table(Object.entries(COLUMNS).filter(([key]) => !(key in RUNTIME_NAMES) || config.runtimes.includes(key as Runtime)).map(([, column]) => column));
const targets: { name: string; measured: string; pass: boolean; load: number }[] = [];
/** Each target with the machine's load when it was measured: on a shared machine a FAIL may be the neighbours'. */
function addTarget(result: { name: string; measured: string; pass: boolean }): void {
  targets.push({ ...result, load: loadavg()[0]! });
}
/** The huge miss's TTFB per runtime (those with a workerd to watch), for the size-independence target. */
const hugeTtfb: Partial<Record<Runtime, number>> = {};

const sections = benchSections(process.env);
const missing: string[] = [];
// skopeo and docker-registry: the peers' rows (distribution's pull-through cache).
if (sections.cache) for (const tool of ["wrk", "curl", "nginx", "redis-server", "skopeo", "docker-registry"]) if (!(await available(tool))) missing.push(tool);
if (sections.uploads) for (const tool of ["curl", "nginx", "redis-server"]) if (!missing.includes(tool) && !(await available(tool))) missing.push(tool);
if (missing.length) {
  console.error(`bench: missing ${missing.join(", ")}. On Debian: sudo apt-get install -y ${missing.join(" ")}`);
  console.error("bench: it also needs PostgreSQL on 127.0.0.1:5432 (trust auth; BENCH_POSTGRES_ADMIN_URL to change).");
  process.exit(2);
}
const missingClients = sections.clients ? await missingClientTools() : [];
if (missingClients.length) {
  console.error(`bench: the real-client section is missing ${missingClients.join(", ")}`);
  process.exit(2);
}

const cleanup = new Cleanup();
cleanup.onSignals();
const loadBefore = loadavg()[0]!;
let failed = false;
try {
  if (sections.cache) await main();
  if (sections.clients) await clientBench(cleanup, clientBenchConfig(process.env));
  if (sections.uploads) {
    const dir = await mkdtemp(join(tmpdir(), "artifactapi-bench-uploads-"));
    cleanup.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    await uploadBench(cleanup, dir, uploadBenchConfig(process.env));
  }
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await cleanup.unwind();
}
process.exit(failed ? 1 : 0);

async function main(): Promise<void> {
  log(`config: ${JSON.stringify({ ...config, smallBytes: label("small"), largeBytes: label("large"), hugeBytes: label("huge") })}`);
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-bench-"));
  cleanup.defer(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const filesDir = join(dir, "files");
  await writeFiles(filesDir);
  const nginx = await startNginx(cleanup, join(dir, "nginx"), filesDir, config.nginxWorkers);
  const redisUrl = await startRedis(cleanup);
  log(`origin and nginx proxy_cache up (${nginx.originUrl}, ${nginx.cacheUrl}); redis ${redisUrl}`);

  const staticTarget = (base: string): Target => ({
    hit: (file) => `${base}/${FILES[file]}`,
    miss: (file) => `${base}/fresh/${randomBytes(6).toString("hex")}/${FILES[file]}`,
    settle: async () => {},
  });
  const origin = await measureCache("origin direct", staticTarget(nginx.originUrl));
  fill(COLUMNS.origin, origin);
  const nginxTarget: Target = { ...staticTarget(nginx.cacheUrl), cacheHeader: ["x-cache-status", "HIT"] };
  const cached = await measureCache("nginx proxy_cache", nginxTarget);
  fill(COLUMNS.nginx, cached);
  await measureWaiters("nginx proxy_cache", COLUMNS.nginx, nginxTarget, true);

  // The S3 API of the workerd column: the fauxqs emulator, in a process of its own.
  const s3Env = { S3_ENDPOINT: await startS3(cleanup, "bench"), S3_BUCKET: "bench", S3_ACCESS_KEY_ID: "bench", S3_SECRET_ACCESS_KEY: "bench", S3_REGION: "us-east-1" };
  const floorBundle = await buildWorker(join(dir, "blob-floor"), join(import.meta.dirname, "blob-floor-worker.ts"));
  const floors: Partial<Record<Runtime, number>> = {};
  const peers = await startPeers(cleanup, join(dir, "peers"));
  const peerHits = {
    tarball: await wrkRow(`verdaccio ${formatSize(peers.tarballBytes)} tarball hit`, peers.verdaccioTarball, true),
    blob: await wrkRow(`distribution ${formatSize(peers.blobBytes)} blob hit`, peers.distributionBlob, true),
  };
  fillPeerRows(peers, COLUMNS.peers, peerHits);

  const empties: Partial<Record<BenchConfig["runtimes"][number], WrkResult>> = {};
  const proxies: Partial<Record<BenchConfig["runtimes"][number], CacheRows>> = {};
  for (const runtime of config.runtimes) {
    const mark = cleanup.mark();
    const empty =
      runtime === "miniflare"
        ? await emptyOnMiniflare(cleanup)
        : runtime === "workerd"
          ? await emptyOnWorkerd(cleanup, join(dir, "empty-workerd"))
          : await emptyOnWrangler(cleanup, join(dir, "empty-wrangler"));
    log(`empty handler (${runtime}) on ${empty.url}`);
    empties[runtime] = await wrkRow(`empty handler (${runtime})`, `${empty.url}/`);
    const emptyRss = empty.workerdPid === null ? null : await rssOverHits(empty.workerdPid, `${empty.url}/`);
    await cleanup.unwind(mark);
    floors[runtime] = await measureBlobFloor(runtime, floorBundle, join(dir, `floor-${runtime}`), join(filesDir, FILES.large), s3Env);

    const database = await createDatabase(cleanup, runtime);
    const remote = `bench-${runtime}`;
    const runtimeDir = join(dir, `proxy-${runtime}`);
    const configPath = join(dir, `remotes-${runtime}.yaml`);
    // The merged-document row: an npm virtual over two npm remotes of the same origin (packuments as static files).
    const npmMembers = [`${remote}-npm-a`, `${remote}-npm-b`];
    const member = { base_url: nginx.originUrl, package: "npm", allow_private_network: true };
    await writeFile(
      configPath,
      stringify({
        remotes: { [remote]: { base_url: nginx.originUrl, allow_private_network: true }, [npmMembers[0]!]: member, [npmMembers[1]!]: member, ...peers.remotes(runtime) },
        virtuals: { [VIRTUAL]: { package: "npm", members: npmMembers } },
      }),
    );
    const options = { configPath, dataDir: runtimeDir, env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, ...(runtime === "workerd" ? s3Env : {}) } };
    const proxy =
      runtime === "miniflare"
        ? await proxyOnMiniflare(cleanup, options)
        : runtime === "workerd"
          ? await proxyOnWorkerd(cleanup, options)
          : await proxyOnWrangler(cleanup, options);
    log(`proxy (${runtime}) on ${proxy.url}, workerd pid ${proxy.workerdPid ?? "n/a"}`);
    const base = `${proxy.url}/api/v1/remote/${remote}`;
    const target: Target = {
      ...staticTarget(base),
      settle: waitStored,
      cacheHeader: ["x-artifact-source", "cache"],
    };
    const column = COLUMNS[runtime];
    proxies[runtime] = await measureCache(`proxy (${runtime})`, target);
    fill(column, proxies[runtime]);
    await measurePeerHits(runtime, column, peers, proxy.url, peerHits);
    await measureHitCosts(runtime, column, target.hit("small"), redisUrl, database.url, proxy, emptyRss);
    await measureFirstSeenHits(runtime, column, target, redisUrl);
    await measureMergedHit(runtime, column, `${proxy.url}/api/v1/virtual/${VIRTUAL}/${PACKUMENT}`, redisUrl, database.url, proxy);
    if (proxy.workerdPid !== null) await measureHugeMiss(runtime, column, target, proxy.workerdPid);
    // wrangler dev (~10× slower per request) gets the large file only.
    await measureWaiters(`proxy (${runtime})`, column, target, runtime !== "wrangler");
    await cleanup.unwind(mark);
  }
  table.set(`${label("large")} hit`, "MiB/s", COLUMNS.floor, FLOOR_RUNTIMES.map((runtime) => fmt(floors[runtime])).join(" · "));

  table.set(`${label("small")} hit`, "req/s", COLUMNS.empty, config.runtimes.map((runtime) => fmt(empties[runtime]?.requestsPerSecond)).join(" · "));
  table.set(`${label("small")} hit`, "p50 ms", COLUMNS.empty, config.runtimes.map((runtime) => fmt(empties[runtime]?.p50Ms)).join(" · "));
  table.set(`${label("small")} hit`, "p99 ms", COLUMNS.empty, config.runtimes.map((runtime) => fmt(empties[runtime]?.p99Ms)).join(" · "));
  ratios(empties, proxies, cached, floors);

  const loadAfter = loadavg()[0]!;
  console.log(`\n## artifactapi-edge benchmark (${config.quick ? "BENCH_QUICK smoke run" : "full run"}, loopback, ${new Date().toISOString()})\n`);
  console.log(table.render());
  console.log("\nTargets:");
  for (const target of targets) console.log(`- ${target.pass ? "PASS" : "FAIL"} ${target.name}: ${target.measured} (load ${target.load.toFixed(2)})`);
  console.log(
    `\nwrk -t${config.threads} -c${config.connections} ${config.seconds}s per row; large transfers: curl, median of ${config.runs}; ` +
      `nginx worker_processes ${config.nginxWorkers}; backends: Postgres (fresh database) + own redis-server via the Upstash bridge + local R2 ` +
      `(workerd: S3 on the fauxqs emulator, in a process of its own). ` +
      `Load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after` +
      (loadBefore > 0.5 ? ": the machine was busy before the run started, the figures are noisy." : "."),
  );
}

/** Hits (small: wrk; large: curl) and misses (curl, a new URL each time) on one target. */
async function measureCache(name: string, target: Target): Promise<CacheRows> {
  for (const file of ["small", "large"] as const) {
    await checked(target.hit(file), file);
    await target.settle(target.hit(file));
    if (target.cacheHeader) {
      const response = await fetch(target.hit(file), { method: "HEAD" });
      const [header, expected] = target.cacheHeader;
      if (response.headers.get(header) !== expected) throw new Error(`${name}: ${target.hit(file)} is not a hit after warming (${header}: ${response.headers.get(header)})`);
    }
  }
  const smallHit = await wrkRow(`${name} ${label("small")} hit`, target.hit("small"));
  const largeHits: number[] = [];
  for (let i = 0; i < config.runs; i++) {
    const result = await checked(target.hit("large"), "large");
    largeHits.push(result.bytes / MiB / (result.totalMs / 1_000));
  }
  const largeHitMiBps = median(largeHits);
  log(`${name}: ${label("large")} hit ${fmt(largeHitMiBps)} MiB/s`);
  const miss = { small: { ttfbMs: 0, totalMs: 0 }, large: { ttfbMs: 0, totalMs: 0 } };
  for (const file of ["small", "large"] as const) {
    const runs: Transfer[] = [];
    for (let i = 0; i < config.runs; i++) {
      const url = target.miss(file);
      runs.push(await checked(url, file));
      await target.settle(url);
    }
    miss[file] = { ttfbMs: median(runs.map((run) => run.ttfbMs)), totalMs: median(runs.map((run) => run.totalMs)) };
    log(`${name}: ${label(file)} miss TTFB ${fmt(miss[file].ttfbMs)} ms, total ${fmt(miss[file].totalMs)} ms`);
  }
  return { smallHit, largeHitMiBps, miss };
}

/** `peer`: a row of another project's server, whose failed requests are shown rather than ending the run. */
async function wrkRow(name: string, url: string, peer = false): Promise<WrkResult> {
  const result = await wrk(url, config);
  log(`${name}: ${fmt(result.requestsPerSecond)} req/s, p50 ${fmt(result.p50Ms)} ms, p99 ${fmt(result.p99Ms)} ms${result.errors ? `, ${result.errors} ERRORS` : ""}`);
  if (result.errors && !peer) throw new Error(`${name}: ${result.errors} failed requests under load`);
  return result;
}

function fill(column: string, rows: CacheRows): void {
  const small = label("small");
  const large = label("large");
  table.set(`${small} hit`, "req/s", column, fmt(rows.smallHit.requestsPerSecond));
  table.set(`${small} hit`, "p50 ms", column, fmt(rows.smallHit.p50Ms));
  table.set(`${small} hit`, "p99 ms", column, fmt(rows.smallHit.p99Ms));
  table.set(`${large} hit`, "MiB/s", column, fmt(rows.largeHitMiBps));
  table.set(`${small} miss`, "TTFB ms", column, fmt(rows.miss.small.ttfbMs));
  table.set(`${large} miss`, "TTFB ms", column, fmt(rows.miss.large.ttfbMs));
  table.set(`${large} miss`, "total ms", column, fmt(rows.miss.large.totalMs));
}

/**
 * State-store commands and Postgres activity per hit, counted at Redis (MONITOR) and in Postgres's
 * statistics for the runtime's database; then workerd's RSS over two batches of hits.
 */
async function measureHitCosts(
  runtime: string,
  column: string,
  url: string,
  redisUrl: string,
  databaseUrl: string,
  proxy: Running,
  emptyRss: RssSeries | null,
  what = "hit",
): Promise<void> {
  // Without a workerd to watch (wrangler dev, ~10× slower) a shorter batch is enough for the counts.
  const count = proxy.workerdPid === null ? Math.min(config.hits, 2_000) : config.hits;
  await sleep(STATS_SETTLE_MS);
  const before = await readPostgresCounts(databaseUrl);
  const started = Date.now();
  const redis = await countRedisCommands(redisUrl, () => hitLoop(url, count, config.connections));
  const seconds = (Date.now() - started) / 1_000;
  await sleep(STATS_SETTLE_MS);
  const after = await readPostgresCounts(databaseUrl);

  const state = perRequest(new Map(), redis, count);
  const per = (value: number) => fmt(value / count, 3);
  // Less the session of the second reading itself (sessions count at connect).
  const sessions = after.sessions - before.sessions - 1;
  const reads = perRequest(before.reads, after.reads, count);
  const writes = perRequest(before.writes, after.writes, count);
  log(`proxy (${runtime}): per hit: redis ${state.detail}; postgres sessions ${per(sessions)}, reads ${reads.detail}, rows written ${writes.detail}; ${count} hits in ${seconds.toFixed(1)} s`);

  const hits = config.hits.toLocaleString("en-US");
  table.set(what, "state-store commands per hit (Redis)", column, `${fmt(state.total, 3)} (${state.detail}; ${count.toLocaleString("en-US")} hits in ${seconds.toFixed(1)} s)`);
  table.set(what, "Postgres table scans per hit", column, `${fmt(reads.total, 3)} (${reads.detail})`);
  table.set(what, "Postgres sessions · rows written per hit", column, `${per(sessions)} · ${fmt(writes.total, 3)} (${writes.detail})`);
  table.set(what, "state-store commands per hit (Redis)", COLUMNS.ratio, "target ≤ 1");
  table.set(what, "Postgres sessions · rows written per hit", COLUMNS.ratio, "target 0 on the hit path (batched stats flush only)");
  // The budget (design.md): one state read per hit — the index entry — plus the isolate's config
  // version check, at most one per 2 s per isolate whatever the load.
  const indexReads = (redis.get("get idx") ?? 0) / count;
  const configChecks = redis.get("get config") ?? 0;
  const otherCommands = [...redis].filter(([name]) => name !== "get idx" && name !== "get config").reduce((sum, [, n]) => sum + n, 0);
  addTarget({
    name: `${what} state-store round trips ≤ 1 (${runtime}): one index read per hit, config check ≤ 1 per 2 s per isolate`,
    measured: `${fmt(state.total, 3)} commands per hit: ${state.detail}; ${configChecks} config checks in ${seconds.toFixed(1)} s`,
    pass: indexReads <= 1 && otherCommands === 0 && configChecks <= Math.ceil(seconds / 2) + 1,
  });
  // The Worker connects to Postgres per request and only when it queries: sessions count every query's origin.
  // A hit's own path must make none; what Postgres may see is the stats recorder's batched flush after
  // responses (design: "written after the response, batched"), at most about one per second per isolate.
  const touched = [...new Set([...reads.detail.matchAll(/(\w+) \d/g), ...writes.detail.matchAll(/(\w+) \d/g)].map((m) => m[1]!))];
  const onlyStats = touched.every((table) => STATS_TABLES.has(table));
  const flushBudget = Math.ceil(seconds) + 2;
  addTarget({
    name: `${what} path Postgres queries = 0 (${runtime}): only the batched stats flush (≤ 1/s) touches Postgres`,
    measured:
      `${sessions} sessions in ${seconds.toFixed(1)} s for ${count} hits (${per(sessions)} per hit; budget ${flushBudget}); ` +
      `tables touched: ${touched.join(", ") || "none"}`,
    pass: onlyStats && sessions <= flushBudget,
  });
  // Memory under hits is the remote's row's to show (one RSS series per runtime).
  if (proxy.workerdPid === null || what !== "hit") return;
  const rss = await rssOverHits(proxy.workerdPid, url);
  const row = `MiB before / after ${hits} requests / after ${hits} more`;
  table.set("workerd RSS", row, column, rss.map((value) => fmt(value, 0)).join(" / "));
  if (emptyRss) table.set("workerd RSS", row, COLUMNS.empty, emptyRss.map((value) => fmt(value, 0)).join(" / "));
  // The runtime itself may grow under load (the empty handler shows how much): our code must not add to it.
  const floor = emptyRss ? emptyRss[2] - emptyRss[1] : 0;
  const growth = rss[2] - rss[1];
  table.set("workerd RSS", row, COLUMNS.ratio, `second batch: ${signed(growth)} MiB vs empty handler ${signed(floor)} MiB (target ≤ +16 MiB over it)`);
  addTarget({
    name: `workerd RSS stops growing under hits (${runtime}): the second ${hits} hits add ≤ 16 MiB more than ${hits} requests to the empty handler`,
    measured: `proxy ${rss.map((value) => fmt(value, 0)).join(" → ")} MiB; empty handler ${emptyRss?.map((value) => fmt(value, 0)).join(" → ") ?? "n/a"} MiB`,
    pass: growth <= floor + 16,
  });
}

/**
 * State-store commands of a hit on a key the isolate has not kept yet (one index read, the
 * budget) next to the same keys hit again (kept: none). The keys are stored by misses, then the
 * config version is moved, as an eviction moves it, so the isolate drops what it kept.
 */
async function measureFirstSeenHits(runtime: string, column: string, target: Target, redisUrl: string): Promise<void> {
  const urls = Array.from({ length: config.quick ? 50 : 200 }, () => target.miss("small"));
  for (const url of urls) await checked(url, "small");
  for (const url of urls) await target.settle(url);
  const redis = new Redis(redisUrl);
  try {
    await redis.incr(CONFIG_VERSION_KEY);
  } finally {
    redis.disconnect();
  }
  // The isolate re-checks the version at most every 2 s.
  await sleep(2_100);
  const hitEach = async () => {
    for (const url of urls) await checked(url, "small");
  };
  for (const [label, counted] of [
    ["first seen by the isolate", await countRedisCommands(redisUrl, hitEach)],
    ["kept by the isolate (hot)", await countRedisCommands(redisUrl, hitEach)],
  ] as const) {
    const state = perRequest(new Map(), counted, urls.length);
    log(`proxy (${runtime}): ${label}: redis per hit ${state.detail}`);
    table.set("hit", `state-store commands per hit, key ${label}`, column, `${fmt(state.total, 3)} (${state.detail}; ${urls.length} keys)`);
  }
  table.set("hit", "state-store commands per hit, key first seen by the isolate", COLUMNS.ratio, "target ≤ 1 (the index read)");
  table.set("hit", "state-store commands per hit, key kept by the isolate (hot)", COLUMNS.ratio, "target 0 (but the config check every 2 s)");
}

/**
 * A hit on a merged document (a virtual's packument) must cost what a remote's hit costs: one
 * index read, no SQL. Measured like the remote's small hit: wrk, then the state and Postgres counts.
 */
async function measureMergedHit(runtime: string, column: string, url: string, redisUrl: string, databaseUrl: string, proxy: Running): Promise<void> {
  const warm = await fetch(url);
  const merged = (await warm.json()) as { versions?: Record<string, unknown> };
  if (warm.status !== 200 || Object.keys(merged.versions ?? {}).length !== 1) throw new Error(`${url}: not the merged packument (${warm.status})`);
  const again = await fetch(url, { method: "HEAD" });
  if (again.headers.get("x-artifact-source") !== "cache") throw new Error(`${url} is not a hit after warming (x-artifact-source: ${again.headers.get("x-artifact-source")})`);
  const section = "merged-document hit (npm virtual, 2 members)";
  const result = await wrkRow(`proxy (${runtime}) ${section}`, url);
  table.set(section, "req/s", column, fmt(result.requestsPerSecond));
  table.set(section, "p50 ms", column, fmt(result.p50Ms));
  table.set(section, "p99 ms", column, fmt(result.p99Ms));
  await measureHitCosts(runtime, column, url, redisUrl, databaseUrl, proxy, null, section);
}

/** RSS before, after one batch of requests and after a second batch. */
type RssSeries = [number, number, number];

async function rssOverHits(pid: number, url: string): Promise<RssSeries> {
  const before = await rssMiB(pid);
  await hitLoop(url, config.hits, config.connections);
  const afterOne = await rssMiB(pid);
  await hitLoop(url, config.hits, config.connections);
  return [before, afterOne, await rssMiB(pid)];
}

/** A miss much larger than the others, with workerd's RSS sampled until its copy is stored. */
async function measureHugeMiss(runtime: Runtime, column: string, target: Target, pid: number): Promise<void> {
  const before = await rssMiB(pid);
  let peak = before;
  const sampler = setInterval(() => void rssMiB(pid).then((value) => (peak = Math.max(peak, value)), () => {}), 200);
  const url = target.miss("huge");
  let result: Transfer;
  try {
    result = await checked(url, "huge");
    await target.settle(url);
  } finally {
    clearInterval(sampler);
  }
  const after = await rssMiB(pid);
  const huge = label("huge");
  log(`${huge} miss: TTFB ${fmt(result.ttfbMs)} ms, total ${fmt(result.totalMs)} ms; RSS ${fmt(before, 0)} → peak ${fmt(peak, 0)} → ${fmt(after, 0)} MiB`);
  table.set(`${huge} miss`, "TTFB ms", column, fmt(result.ttfbMs));
  table.set(`${huge} miss`, "total ms", column, fmt(result.totalMs));
  table.set("workerd RSS", `MiB before / peak / after a ${huge} miss`, column, `${fmt(before, 0)} / ${fmt(peak, 0)} / ${fmt(after, 0)}`);
  const limit = Math.max(256, config.hugeBytes / MiB / 4);
  addTarget({
    name: `workerd RSS bounded during a ${huge} miss: peak − before ≤ ${limit} MiB`,
    measured: `${fmt(before, 0)} → peak ${fmt(peak, 0)} → ${fmt(after, 0)} MiB`,
    pass: peak - before <= limit,
  });
  hugeTtfb[runtime] = result.ttfbMs;
}

function ratios(empties: Partial<Record<string, WrkResult>>, proxies: Partial<Record<string, CacheRows>>, nginx: CacheRows, floors: Partial<Record<Runtime, number>>): void {
  const small = label("small");
  const large = label("large");
  const per = (compute: (runtime: BenchConfig["runtimes"][number], rows: CacheRows) => number | null) =>
    config.runtimes.map((runtime) => (proxies[runtime] ? compute(runtime, proxies[runtime]) : null));
  const hitRatios = per((runtime, rows) => (empties[runtime] ? rows.smallHit.requestsPerSecond / empties[runtime].requestsPerSecond : null));
  const largeRatios = per((_, rows) => rows.largeHitMiBps / nginx.largeHitMiBps);
  const floorRatios = per((runtime, rows) => (floors[runtime] ? rows.largeHitMiBps / floors[runtime] : null));
  const names = config.runtimes.map((runtime) => ({ miniflare: "mf", wrangler: "wrangler", workerd: "workerd" })[runtime]);
  const show = (values: (number | null)[]) => values.map((value, i) => `${names[i]} ${fmt(value)}`).join(" · ");
  table.set(`${small} hit`, "req/s", COLUMNS.ratio, `${show(hitRatios)} × empty handler (target ≥ 0.8)`);
  table.set(`${large} hit`, "MiB/s", COLUMNS.ratio, `${show(largeRatios)} × nginx (target ≥ 0.7); ${show(floorRatios)} × blob floor (target ≥ 0.9)`);
  config.runtimes.forEach((runtime, i) => {
    addTarget({ name: `${small} hit ≥ 0.8× empty handler (${runtime})`, measured: `${fmt(hitRatios[i])}×`, pass: (hitRatios[i] ?? 0) >= 0.8 });
    addTarget({ name: `${large} hit ≥ 0.7× nginx proxy_cache (${runtime})`, measured: `${fmt(largeRatios[i])}×`, pass: (largeRatios[i] ?? 0) >= 0.7 });
    if (floorRatios[i] !== null) {
      const floor = floors[runtime]!;
      const measured = `${fmt(floorRatios[i])}× (proxy ${fmt(proxies[runtime]!.largeHitMiBps)} MiB/s, floor ${fmt(floor)} MiB/s${floor < 0.7 * nginx.largeHitMiBps ? `; the floor itself is ${fmt(floor / nginx.largeHitMiBps)}× nginx: the blob store is the limit` : ""})`;
      addTarget({ name: `${large} hit ≥ 0.9× blob floor (${runtime})`, measured, pass: floorRatios[i]! >= 0.9 });
    }
  });
  // "Independent of size": a larger miss may start at most 1.5× (or 10 ms) later than the small one.
  const ttfbRatios = per((_, rows) => rows.miss.large.ttfbMs / rows.miss.small.ttfbMs);
  table.set(`${large} miss`, "TTFB ms", COLUMNS.ratio, `${show(ttfbRatios)} × ${small} miss TTFB (target ≤ 1.5 or +10 ms)`);
  config.runtimes.forEach((runtime, i) => {
    const rows = proxies[runtime];
    if (!rows) return;
    // Medians only: the huge miss is a single run, shown for reference.
    const pass = rows.miss.large.ttfbMs <= Math.max(1.5 * rows.miss.small.ttfbMs, rows.miss.small.ttfbMs + 10);
    const shown = [`${small} ${fmt(rows.miss.small.ttfbMs)} ms`, `${large} ${fmt(rows.miss.large.ttfbMs)} ms`];
    if (hugeTtfb[runtime] !== undefined) shown.push(`(${label("huge")}, one run: ${fmt(hugeTtfb[runtime])} ms)`);
    addTarget({ name: `miss TTFB independent of size (${runtime})`, measured: shown.join(", "), pass });
  });
}

/**
 * The blob floor of one runtime: the large file stored through the blob adapter the proxy reads
 * with (Miniflare and wrangler dev: local R2 on disk, as the proxy's; workerd: the same S3), then streamed back by
 * a handler that does nothing else: the most a hit can get out of that store.
 */
async function measureBlobFloor(runtime: Runtime, bundleDir: string, dir: string, largeFile: string, s3Env: Record<string, string>): Promise<number> {
  const mark = cleanup.mark();
  try {
    const main = "blob-floor-worker.js";
    const floor =
      runtime === "workerd"
        ? await scriptOnWorkerd(cleanup, dir, bundleDir, main, s3Env)
        : runtime === "wrangler"
          ? await scriptOnWrangler(cleanup, dir, bundleDir, main)
          : await scriptOnMiniflare(cleanup, bundleDir, main, { buckets: { BLOBS: "floor" }, persistTo: dir });
    const url = `${floor.url}/floor/${FILES.large}`;
    const put = await transfer(url, ["-T", largeFile]);
    if (put.status !== 204) throw new Error(`blob floor (${runtime}): storing ${FILES.large} answered ${put.status}`);
    const rates: number[] = [];
    for (let i = 0; i < config.runs; i++) {
      const result = await checked(url, "large");
      rates.push(result.bytes / MiB / (result.totalMs / 1_000));
    }
    const rate = median(rates);
    log(`blob floor (${runtime}): ${label("large")} ${fmt(rate)} MiB/s`);
    return rate;
  } finally {
    await cleanup.unwind(mark);
  }
}

/**
 * `config.waiters` clients ask for one cold file at once. The first to get a byte is the
 * leader; every other client is a waiter. Target: each waiter's first byte within 1 s of the
 * leader's, and every client gets the whole file.
 */
async function measureWaiters(name: string, column: string, target: Target, withHuge: boolean): Promise<void> {
  const files: FileName[] = config.hugeWaiters && withHuge ? ["large", "huge"] : ["large"];
  for (const file of files) {
    const url = target.miss(file);
    const all = await Promise.all(Array.from({ length: config.waiters }, () => transfer(url)));
    // A client that failed or got less than the whole file is counted, not measured (and fails the target).
    const results = all.filter((run) => run.status === 200 && run.bytes === sizes[file]);
    const failed = all.length - results.length;
    await target.settle(url);
    const [leader, ...waiters] = results.sort((a, b) => a.ttfbMs - b.ttfbMs);
    if (!leader || waiters.length === 0) throw new Error(`${name}: ${failed} of ${all.length} clients of ${url} failed`);
    const waiterTtfb = waiters.map((run) => run.ttfbMs);
    const waiterTotal = waiters.map((run) => run.totalMs);
    const lag = Math.max(...waiterTtfb) - leader.ttfbMs;
    const scenario = `${label(file)} cold, ${config.waiters} clients at once`;
    table.set(scenario, "leader TTFB · total ms", column, `${fmt(leader.ttfbMs)} · ${fmt(leader.totalMs)}`);
    table.set(scenario, "waiters TTFB median · max ms", column, `${fmt(median(waiterTtfb))} · ${fmt(Math.max(...waiterTtfb))}`);
    table.set(scenario, "waiters total median · max ms", column, `${fmt(median(waiterTotal))} · ${fmt(Math.max(...waiterTotal))}${failed ? ` (${failed} of ${all.length} clients failed)` : ""}`);
    table.set(scenario, "waiters TTFB median · max ms", COLUMNS.ratio, "target: every waiter's first byte ≤ 1 s after the leader's");
    log(`${name}: ${scenario}: leader TTFB ${fmt(leader.ttfbMs)} ms, total ${fmt(leader.totalMs)} ms; waiters TTFB max ${fmt(Math.max(...waiterTtfb))} ms, total max ${fmt(Math.max(...waiterTotal))} ms`);
    addTarget({
      name: `${scenario}, ${name}: every waiter's first byte within 1 s of the leader's`,
      measured:
        `last waiter +${fmt(lag)} ms after the leader's first byte (leader ${fmt(leader.ttfbMs)} ms; waiters' totals ${fmt(median(waiterTotal))} ms median vs the leader's ${fmt(leader.totalMs)} ms)` +
        (failed ? `; ${failed} of ${all.length} clients failed` : ""),
      pass: lag <= 1_000 && failed === 0,
    });
  }
}

type SmallHits = Record<"tarball" | "blob", WrkResult>;

function fillPeerRows(peers: Peers, column: string, hits: SmallHits): void {
  const shown = (hit: WrkResult) => `${fmt(hit.requestsPerSecond)}${hit.errors ? ` (${hit.errors} failed requests)` : ""}`;
  table.set(`${formatSize(peers.tarballBytes)} npm tarball hit`, "req/s", column, shown(hits.tarball));
  table.set(`${formatSize(peers.blobBytes)} OCI blob hit`, "req/s", column, shown(hits.blob));
}

/** The same small tarball and blob as the peers serve, through the proxy; target: ahead of both. */
async function measurePeerHits(runtime: Runtime, column: string, peers: Peers, base: string, peerHits: SmallHits): Promise<void> {
  const urls = await peers.proxyUrls(base, runtime);
  const hits = { tarball: await wrkRow(`proxy (${runtime}) tarball hit`, urls.tarball), blob: await wrkRow(`proxy (${runtime}) blob hit`, urls.blob) };
  fillPeerRows(peers, column, hits);
  const rows = [
    ["tarball", `${formatSize(peers.tarballBytes)} npm tarball hit`, "verdaccio's uplink cache"],
    ["blob", `${formatSize(peers.blobBytes)} OCI blob hit`, "distribution's proxy mode"],
  ] as const;
  for (const [kind, scenario, peer] of rows) {
    const ratio = hits[kind].requestsPerSecond / peerHits[kind].requestsPerSecond;
    const earlier = table.get(scenario, "req/s", COLUMNS.ratio);
    table.set(scenario, "req/s", COLUMNS.ratio, `${earlier ? `${earlier} · ` : ""}${RUNTIME_NAMES[runtime]} ${fmt(ratio)}× ${peer} (target ≥ 1)`);
    addTarget({
      name: `${scenario} ahead of ${peer} (${runtime})`,
      measured: `${fmt(hits[kind].requestsPerSecond)} vs ${fmt(peerHits[kind].requestsPerSecond)} req/s (${fmt(ratio)}×)`,
      pass: ratio >= 1,
    });
  }
}

/** Downloads `url` and checks it answered 200 with the whole file. */
async function checked(url: string, file: FileName): Promise<Transfer> {
  const result = await transfer(url);
  if (result.status !== 200 || result.bytes !== sizes[file]) throw new Error(`${url}: status ${result.status}, ${result.bytes} of ${sizes[file]} bytes`);
  return result;
}

/**
 * After a miss the proxy keeps storing in the background. A one-byte GET of the same URL waits
 * on the fill's lock and is answered from the stored copy once it is committed.
 */
async function waitStored(url: string): Promise<void> {
  const response = await fetch(url, { headers: { range: "bytes=0-0" }, signal: AbortSignal.timeout(600_000) });
  await response.arrayBuffer();
  if (response.headers.get("x-artifact-source") !== "cache") throw new Error(`${url}: not stored after the miss (${response.status})`);
}

/** The origin's files: random bytes, so nothing on the way can compress them. */
async function writeFiles(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const packument = { _id: PACKUMENT, name: PACKUMENT, "dist-tags": { latest: "1.0.0" }, versions: { "1.0.0": { name: PACKUMENT, version: "1.0.0", dist: { tarball: `http://127.0.0.1/${PACKUMENT}/-/${PACKUMENT}-1.0.0.tgz` } } } };
  await writeFile(join(dir, PACKUMENT), JSON.stringify(packument));
  const chunk = randomBytes(MiB);
  for (const file of Object.keys(FILES) as FileName[]) {
    const handle = await open(join(dir, FILES[file]), "w");
    try {
      for (let written = 0; written < sizes[file]; written += chunk.length) {
        await handle.write(chunk, 0, Math.min(chunk.length, sizes[file] - written));
      }
    } finally {
      await handle.close();
    }
  }
}

function signed(value: number): string {
  return `${value < 0 ? "−" : "+"}${fmt(Math.abs(value), 0)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function log(line: string): void {
  console.error(`bench: ${line}`);
}
