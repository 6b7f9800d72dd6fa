import { randomBytes } from "node:crypto";
import Redis from "ioredis";
import { CONFIG_VERSION_KEY } from "../../functions/config/cache.ts";
import { workerdChildren } from "../../bench/runtimes.ts";
import { startFaultyBackends, type FaultyBackends } from "../support/backends.ts";
import { eventually, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import type { TcpFault } from "../support/fault-proxy.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";
import { partialEntries, sha256, Tally, type FaultEnv, type FaultRow } from "./harness.ts";

const ADMIN_TOKEN = "fault-suite-admin-token";
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/** How long the Worker waits on a backend that does not answer (BACKEND_TIMEOUT_SECONDS, S3_REQUEST_TIMEOUT_SECONDS). */
const BACKEND_TIMEOUT_SECONDS = 3;
const S3_REQUEST_TIMEOUT_SECONDS = 5;
const CLIENTS = 5;

interface Rig {
  origin: Origin;
  backends: FaultyBackends;
  stack: TestStack;
  remote: string;
  url(path: string): string;
  /** A fresh file on the origin: its path and its sha256. */
  file(size: number): { path: string; valid: string[] };
}

/**
 * The proxy's own backends failing, each behind a fault proxy: Redis and Postgres refusing or
 * stalling connections, the blob store answering 500 or not at all, and workerd killed mid-fill.
 */
export async function backendFaultRows(env: FaultEnv): Promise<FaultRow[]> {
  const rig = await startRig(env);
  try {
    return [
      await stateDownRow(rig, env, "refuse"),
      await stateDownRow(rig, env, "stall"),
      await metadataDownRow(rig, env, "refuse"),
      await metadataDownRow(rig, env, "stall"),
      await blobsFailingRow(rig, env, { kind: "error", status: 500 }),
      await blobsFailingRow(rig, env, { kind: "stall" }),
      await killedMidFillRow(rig, env),
    ];
  } finally {
    await rig.stack.destroy();
    await rig.backends.stop();
    await rig.origin.stop();
  }
}

async function startRig(env: FaultEnv): Promise<Rig> {
  const origin = await new Origin().start();
  const backends = await startFaultyBackends();
  const remote = uniqueName("files");
  const stack = await startTestStack({
    remotes: { [remote]: { base_url: origin.url, allow_private_network: true } },
    // A short lease: the fill workerd was killed in holds its key only that long.
    env: { ...backends.env, ADMIN_TOKEN, BACKEND_TIMEOUT_SECONDS: String(BACKEND_TIMEOUT_SECONDS), S3_REQUEST_TIMEOUT_SECONDS: String(S3_REQUEST_TIMEOUT_SECONDS), FETCH_LEASE_SECONDS: "2" },
    bundleDir: env.bundleDir,
  });
  let files = 0;
  const rig: Rig = {
    origin,
    backends,
    stack,
    remote,
    url: (path) => `${rig.stack.url}/api/v1/remote/${remote}/${path}`,
    file(size) {
      const body = randomBytes(size);
      const path = `files/${++files}.bin`;
      origin.serve(`/${path}`, body);
      return { path, valid: [sha256(body)] };
    },
  };
  return rig;
}

/** Caches a file and waits until a HEAD says it is served from storage. */
async function cached(rig: Rig, file: { path: string; valid: string[] }): Promise<void> {
  await (await fetch(rig.url(file.path))).arrayBuffer();
  await eventually(async () => {
    const head = await fetch(rig.url(file.path), { method: "HEAD" });
    if (head.headers.get("x-artifact-source") !== "cache") throw new Error(`${file.path} not cached yet`);
  }, 30_000);
}

/** Lifts a fault and waits until the health report has the backend up again (clients reconnect with a backoff). */
async function restored(rig: Rig, prefix: string, lift: () => unknown): Promise<void> {
  await lift();
  await eventually(async () => {
    const { backend } = await backendStatus(rig, prefix);
    if (backend !== "up") throw new Error(`${prefix} still ${backend} after its fault was lifted`);
  }, 30_000);
}

/** What a config write or an eviction elsewhere does to the version every isolate watches. */
async function bumpConfigVersion(): Promise<void> {
  const redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.incr(CONFIG_VERSION_KEY);
  } finally {
    redis.disconnect();
  }
}

/** The health report's view of one backend. */
async function backendStatus(rig: Rig, prefix: string): Promise<{ status: number; backend: string | undefined }> {
  const response = await fetch(`${rig.stack.url}/api/v2/health`, { headers: admin });
  const report = (await response.json()) as { backends: { name: string; status: string }[] };
  return { status: response.status, backend: report.backends.find((b) => b.name.startsWith(prefix))?.status };
}

/**
 * Redis (the state store) down: hits are still served from storage (the metadata store knows
 * path → sha256, the blob store has the bytes) and misses still stream from the upstream.
 */
async function stateDownRow(rig: Rig, env: FaultEnv, fault: TcpFault): Promise<FaultRow> {
  const warm = rig.file(env.scale.file);
  await cached(rig, warm);
  const cold = rig.file(env.scale.file);
  const before = rig.origin.requests.length;
  const tally = new Tally();
  await rig.backends.redis.set(fault);
  try {
    await Promise.all([tally.all(CLIENTS, rig.url(warm.path), warm.valid), tally.all(CLIENTS, rig.url(cold.path), cold.valid)]);
    const health = await backendStatus(rig, "state:");
    const upstreamFetches = rig.origin.requests.length - before;
    await restored(rig, "state:", () => rig.backends.redis.set("pass"));
    return tally.row(`Redis down (${fault === "refuse" ? "connection refused" : "stalled"})`, {
      partialKept: await partialEntries([warm, cold].map((f) => ({ url: rig.url(f.path), valid: f.valid }))),
      upstreamFetches,
      expectation: "hits served from storage; misses streamed; health reports the state store down",
      held: tally.correct === 2 * CLIENTS && tally.fromCache >= CLIENTS && health.status === 503 && health.backend === "down",
    });
  } finally {
    await rig.backends.redis.set("pass");
  }
}

/**
 * Postgres (the metadata store) down: hits unaffected, misses cached (the state store keeps the
 * entry), the remotes kept, the management API 503 with a clear error; the artifact's record is
 * written once Postgres is back.
 */
async function metadataDownRow(rig: Rig, env: FaultEnv, fault: TcpFault): Promise<FaultRow> {
  const warm = rig.file(env.scale.file);
  await cached(rig, warm);
  const cold = rig.file(env.scale.file);
  const before = rig.origin.requests.length;
  const tally = new Tally();
  await rig.backends.postgres.set(fault);
  try {
    await Promise.all([tally.all(CLIENTS, rig.url(warm.path), warm.valid), tally.all(CLIENTS, rig.url(cold.path), cold.valid)]);
    // The config's version moves meanwhile (another isolate's eviction, a config write elsewhere):
    // past the config's re-check the remotes cannot be read again, and must stay as they were.
    await bumpConfigVersion();
    await sleep(2_500);
    await tally.get(rig.url(cold.path), cold.valid);
    const coldCached = (await fetch(rig.url(cold.path), { method: "HEAD" })).headers.get("x-artifact-source") === "cache";
    const management = await fetch(`${rig.stack.url}/api/v2/remotes`, { headers: admin });
    const managementError = ((await management.json()) as { error?: { code?: string } }).error?.code;
    const health = await backendStatus(rig, "metadata:");
    const upstreamFetches = rig.origin.requests.length - before;
    await restored(rig, "metadata:", () => rig.backends.postgres.set("pass"));
    let recorded = false;
    await eventually(async () => {
      // The next record that succeeds takes the waiting ones with it (once Postgres is taken for up again).
      await cached(rig, rig.file(1024));
      const objects = await fetch(`${rig.stack.url}/api/v2/remotes/${rig.remote}/objects?prefix=${cold.path}`, { headers: admin });
      const { objects: rows } = (await objects.json()) as { objects: { path: string }[] };
      if (!rows.some((row) => row.path === cold.path)) throw new Error("not recorded yet");
      recorded = true;
    }, 15_000).catch(() => {});
    return tally.row(`Postgres down (${fault === "refuse" ? "connection refused" : "stalled"})`, {
      partialKept: await partialEntries([warm, cold].map((f) => ({ url: rig.url(f.path), valid: f.valid }))),
      upstreamFetches,
      expectation: "hits served; the miss cached; remotes kept; management API 503; health degraded; record written once back",
      held:
        tally.correct === 2 * CLIENTS + 1 &&
        coldCached &&
        management.status === 503 &&
        managementError === "BACKEND_UNAVAILABLE" &&
        health.status === 503 &&
        health.backend === "down" &&
        recorded,
    });
  } finally {
    await rig.backends.postgres.set("pass");
  }
}

/**
 * The blob store answering 500s or not at all: a hit whose blob cannot be read is fetched from
 * the upstream again, a miss streams to its client uncached; nothing partial stays.
 */
async function blobsFailingRow(rig: Rig, env: FaultEnv, fault: { kind: "error"; status: number } | { kind: "stall" }): Promise<FaultRow> {
  const warm = rig.file(env.scale.file);
  await cached(rig, warm);
  const cold = rig.file(env.scale.file);
  const tally = new Tally();
  const before = rig.origin.requests.length;
  rig.backends.s3.fault = fault;
  try {
    await tally.get(rig.url(warm.path), warm.valid);
    await tally.get(rig.url(cold.path), cold.valid);
    const health = await backendStatus(rig, "blob:");
    const upstreamFetches = rig.origin.requests.length - before;
    await restored(rig, "blob:", () => (rig.backends.s3.fault = null));
    return tally.row(`S3 ${fault.kind === "error" ? `${fault.status}s` : "timeouts"}`, {
      partialKept: await partialEntries([warm, cold].map((f) => ({ url: rig.url(f.path), valid: f.valid }))),
      upstreamFetches,
      expectation: "the hit refetched from the upstream, the miss streamed uncached; health reports the blob store down",
      held: tally.correct === 2 && upstreamFetches >= 2 && health.status === 503 && health.backend === "down",
    });
  } finally {
    rig.backends.s3.fault = null;
  }
}

/**
 * workerd killed (SIGKILL) in the middle of a multipart fill: after a restart there is no entry
 * (the next request fetches the file again, whole), and the maintenance sweep removes the upload.
 */
async function killedMidFillRow(rig: Rig, env: FaultEnv): Promise<FaultRow> {
  const size = Math.max(env.scale.file, 12 * 1024 * 1024); // over the multipart threshold: parts are uploaded as it goes
  const body = randomBytes(size);
  const valid = [sha256(body)];
  rig.origin.serve("/killed/file.bin", { body, bytesPerSecond: size / 6 });
  const tally = new Tally();
  const workerd = [...(await workerdChildren())].sort((a, b) => a - b).at(-1);
  const during = tally.get(rig.url("killed/file.bin"), valid);
  await sleep(4_000); // more than one part uploaded
  if (workerd) process.kill(workerd, "SIGKILL");
  await during;
  rig.stack = await rig.stack.restart();
  const afterRestart = await fetch(rig.url("killed/file.bin"), { method: "HEAD" });
  const noEntry = afterRestart.headers.get("x-artifact-source") !== "cache";
  rig.origin.serve("/killed/file.bin", body);
  const refetched = await tally.get(rig.url("killed/file.bin"), valid);
  const sweep = await fetch(`${rig.stack.url}/api/v2/maintenance`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ uploads_older_than: 0 }) });
  const swept = (await sweep.json()) as { multipart_aborted?: number; uploads_deleted?: number };
  const cleaned = (swept.multipart_aborted ?? 0) + (swept.uploads_deleted ?? 0);
  console.error(`faults: killed mid-fill: workerd ${workerd ?? "not found"}, entry after restart: ${!noEntry}, refetched: ${refetched}, sweep: ${JSON.stringify(swept)}`);
  return tally.row("workerd killed mid-fill", {
    partialKept: await partialEntries([{ url: rig.url("killed/file.bin"), valid }]),
    upstreamFetches: rig.origin.count("/killed/file.bin"),
    expectation: "no entry after the restart; the next request fetches the whole file; the sweep removes the upload",
    held: workerd !== undefined && noEntry && refetched === "correct" && cleaned >= 1,
  });
}
