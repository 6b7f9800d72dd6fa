import { randomBytes } from "node:crypto";
import { get } from "node:http";
import { sampledRss, workerdChildren } from "../../bench/runtimes.ts";
import { startFaultyBackends } from "../support/backends.ts";
import { eventually, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName } from "../support/stack.ts";
import { median, partialEntries, sha256, Tally, type FaultEnv, type FaultRow } from "./harness.ts";

/** The stack's lease, short: a long download outlives it many times over and must keep it. */
const LEASE_SECONDS = 4;

/**
 * Clients and leaders misbehaving: a 1 KB/s client in front of fast ones, a leader's client
 * that leaves, a download longer than the lease, leaders racing on a mutable document.
 */
export async function clientFaultRows(env: FaultEnv): Promise<FaultRow[]> {
  const origin = await new Origin().start();
  const backends = await startFaultyBackends();
  const files = uniqueName("files");
  const docs = uniqueName("docs");
  const remotes = {
    [files]: { base_url: origin.url, allow_private_network: true },
    [docs]: { base_url: origin.url, allow_private_network: true, mutable_patterns: ["^doc/"], mutable_ttl: 0 },
  };
  const stack = await startTestStack({ remotes, env: { ...backends.env, FETCH_LEASE_SECONDS: String(LEASE_SECONDS) }, bundleDir: env.bundleDir });
  const url = (path: string) => `${stack.url}/api/v1/remote/${files}/${path}`;
  try {
    return [
      await slowClientRow(env, origin, url),
      await leaderLeavesRow(env, origin, url),
      await longerThanLeaseRow(env, origin, url),
      await racingLeadersRow(origin, (path) => `${stack.url}/api/v1/remote/${docs}/${path}`),
    ];
  } finally {
    await stack.destroy();
    await backends.stop();
    await origin.stop();
  }
}

/**
 * A client reading a cold large file at 1 KB/s leads its fill; fast clients behind it must get
 * the file at the upstream's pace. Their times are compared with the same download (another
 * cold file of the same size, after an untimed warm-up) without the slow client: a benchmark
 * figure, not asserted.
 */
async function slowClientRow(env: FaultEnv, origin: Origin, url: (path: string) => string): Promise<FaultRow> {
  const warmUp = randomBytes(env.scale.largeFile);
  const alone = randomBytes(env.scale.largeFile);
  const behind = randomBytes(env.scale.largeFile);
  origin.serve("/large/warm-up.bin", warmUp).serve("/large/alone.bin", alone).serve("/large/behind.bin", behind);
  const fastClients = env.scale.clients;
  // The same download once untimed first, so that neither timed run pays workerd's first large transfers.
  await timedClients(new Tally(), fastClients, url("large/warm-up.bin"), [sha256(warmUp)]);
  const baseline = new Tally();
  const aloneTimes = await timedClients(baseline, fastClients, url("large/alone.bin"), [sha256(alone)]);

  const tally = new Tally();
  const workerd = [...(await workerdChildren())].sort((a, b) => a - b).at(-1);
  const slow = slowReader(url("large/behind.bin"), 1024);
  tally.sent++;
  await sleep(300); // the slow client leads the fill
  const run = timedClients(tally, fastClients, url("large/behind.bin"), [sha256(behind)]);
  const { result: times, peak } = workerd ? await sampledRss(workerd, run) : { result: await run, peak: null };
  const slowStillReading = slow.leave();
  tally.errors["left (1 KB/s)"] = 1;
  const timing = { fastMedianMs: median(times), fastWorstMs: Math.max(...times), aloneMedianMs: median(aloneTimes), rssPeakMiB: peak };
  return tally.row("slow client (1 KB/s) leads a cold large file, fast clients behind it", {
    partialKept: await partialEntries([{ url: url("large/behind.bin"), valid: [sha256(behind)] }]),
    upstreamFetches: origin.count("/large/behind.bin"),
    expectation: `all ${fastClients} fast clients get the file; one upstream fetch; the slow client was still reading`,
    held: tally.correct === fastClients && origin.count("/large/behind.bin") === 1 && slowStillReading,
    timing,
  });
}

/** `count` clients at once; each one's time to its last byte. */
async function timedClients(tally: Tally, count: number, url: string, valid: string[]): Promise<number[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const started = performance.now();
      await tally.get(url, valid);
      return performance.now() - started;
    }),
  );
}

/** A client that reads `bytesPerSecond` and no more (TCP backpressure does the rest); leave() ends it, true if it was still reading. */
function slowReader(url: string, bytesPerSecond: number): { leave(): boolean } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let ended = false;
  const request = get(url, (response) => {
    response.pause();
    response.on("end", () => (ended = true)).on("error", () => (ended = true));
    timer = setInterval(() => response.read(Math.min(bytesPerSecond, response.readableLength) || undefined), 1000);
  });
  request.on("error", () => (ended = true));
  return {
    leave() {
      clearInterval(timer);
      request.destroy();
      return !ended;
    },
  };
}

/** The leader's client leaves after the first bytes: the fill goes on, the file is cached, later clients get it. */
async function leaderLeavesRow(env: FaultEnv, origin: Origin, url: (path: string) => string): Promise<FaultRow> {
  const body = randomBytes(env.scale.file);
  const valid = [sha256(body)];
  origin.serve("/leave/file.bin", { body, bytesPerSecond: env.scale.file / 2 });
  const tally = new Tally();
  const leaving = new AbortController();
  tally.sent++;
  const leader = await fetch(url("leave/file.bin"), { signal: leaving.signal });
  await leader.body!.getReader().read();
  leaving.abort();
  tally.errors["left"] = 1;
  const later = tally.all(4, url("leave/file.bin"), valid);
  let cached = false;
  await eventually(async () => {
    const head = await fetch(url("leave/file.bin"), { method: "HEAD" });
    if (head.headers.get("x-artifact-source") !== "cache") throw new Error("not cached yet");
    cached = true;
  }, 15_000).catch(() => {});
  await later;
  return tally.row("leader's client aborts", {
    partialKept: await partialEntries([{ url: url("leave/file.bin"), valid }]),
    upstreamFetches: origin.count("/leave/file.bin"),
    expectation: "the fill completes and is cached; later clients get the file; one upstream fetch",
    held: cached && tally.correct === 4 && origin.count("/leave/file.bin") === 1,
  });
}

/** A download several leases long, with clients arriving all along: one upstream fetch, every client gets the file. */
async function longerThanLeaseRow(env: FaultEnv, origin: Origin, url: (path: string) => string): Promise<FaultRow> {
  const body = randomBytes(env.scale.file);
  const valid = [sha256(body)];
  const seconds = 2 * LEASE_SECONDS;
  origin.serve("/lease/file.bin", { body, bytesPerSecond: env.scale.file / seconds });
  const tally = new Tally();
  const clients: Promise<unknown>[] = [];
  for (let i = 0; i < 8; i++, await sleep((seconds * 1000) / 8)) clients.push(tally.get(url("lease/file.bin"), valid));
  await Promise.all(clients);
  return tally.row(`lease (${LEASE_SECONDS}s) expiring under a ${seconds}s download`, {
    partialKept: await partialEntries([{ url: url("lease/file.bin"), valid }]),
    upstreamFetches: origin.count("/lease/file.bin"),
    expectation: "the leader keeps its lease: one upstream fetch; every client gets the file",
    held: tally.correct === 8 && origin.count("/lease/file.bin") === 1,
  });
}

/**
 * A mutable document (mutable_ttl 0) changing while waves of requests overlap, older versions
 * answering slower than newer ones: no client may see an older version than one a request that
 * finished before it began saw, and the entry left is the newest.
 */
async function racingLeadersRow(origin: Origin, url: (path: string) => string): Promise<FaultRow> {
  const versions = Array.from({ length: 5 }, (_, n) => JSON.stringify({ version: n + 1, padding: "x".repeat(2048) }));
  const valid = versions.map((v) => sha256(v));
  const tally = new Tally();
  const seen: { started: number; finished: number; version: number }[] = [];
  const one = async () => {
    const started = performance.now();
    const response = await fetch(url("doc/feed.json"));
    tally.sent++;
    const text = await response.text().catch(() => "");
    const index = versions.indexOf(text);
    if (response.status !== 200) tally.errors[String(response.status)] = (tally.errors[String(response.status)] ?? 0) + 1;
    else if (index < 0) tally.corrupted++;
    else tally.correct++;
    seen.push({ started, finished: performance.now(), version: index + 1 });
  };
  const waves: Promise<unknown>[] = [];
  for (const [n, body] of versions.entries()) {
    // Newer versions answer sooner: a leader that fetched an older one finishes after a newer one.
    origin.serve("/doc/feed.json", { body, contentType: "application/json", delayMs: (versions.length - n) * 150 });
    waves.push(...Array.from({ length: 4 }, one));
    await sleep(200);
  }
  await Promise.all(waves);
  await one();
  const backwards = seen.filter((b) => b.version > 0 && seen.some((a) => a.finished < b.started && a.version > b.version)).length;
  const last = seen.at(-1)!;
  return tally.row("two leaders racing on a mutable document", {
    partialKept: await partialEntries([{ url: url("doc/feed.json"), valid }]),
    upstreamFetches: origin.count("/doc/feed.json"),
    expectation: "no client sees a version older than one already served; the newest version is what stays",
    held: backwards === 0 && last.version === versions.length && tally.errors["502"] === undefined,
  });
}
