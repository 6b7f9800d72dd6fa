import { randomBytes } from "node:crypto";
import { startFaultyBackends } from "../support/backends.ts";
import { sleep } from "../support/http.ts";
import { Origin, type OriginFile } from "../support/origin.ts";
import { startTestStack, uniqueName } from "../support/stack.ts";
import { partialEntries, sha256, Tally, type FaultEnv, type FaultRow } from "./harness.ts";

/** Clients per origin-fault row: enough to have waiters behind the leader. */
const CLIENTS = 5;

/**
 * The upstream misbehaving, made by the project's own test origin: a body cut mid-way, a body
 * that stalls, a 5xx storm, 429 with Retry-After, no headers in time, a Content-Length the body
 * does not keep, a redirect loop. Each row has a remote of its own (its own breaker).
 */
export async function originFaultRows(env: FaultEnv): Promise<FaultRow[]> {
  const origin = await new Origin().start();
  /** A second origin for the storm: `failWith` answers every request of an origin. */
  const stormy = await new Origin().start();
  const backends = await startFaultyBackends();
  const name = (row: string) => uniqueName(row);
  const names = { cut: name("cut"), stall: name("stall"), storm: name("storm"), limited: name("limited"), slow: name("slow"), length: name("length"), loop: name("loop") };
  const plain = { allow_private_network: true, upstream_timeout: 1 };
  const remotes = {
    [names.cut]: { ...plain, base_url: origin.url },
    [names.stall]: { ...plain, base_url: origin.url },
    [names.storm]: { ...plain, base_url: stormy.url, mutable_patterns: ["^index/"], mutable_ttl: 1, circuit_breaker: { failures: 5, window: 30, open: 2 } },
    [names.limited]: { ...plain, base_url: origin.url },
    [names.slow]: { ...plain, base_url: origin.url, mutable_patterns: ["^index/"], mutable_ttl: 1 },
    [names.length]: { ...plain, base_url: origin.url },
    [names.loop]: { ...plain, base_url: origin.url },
  };
  const stack = await startTestStack({ remotes, env: backends.env, bundleDir: env.bundleDir });
  const url = (remote: string, path: string) => `${stack.url}/api/v1/remote/${remote}/${path}`;
  const fetches = (server: Origin, prefix: string) => server.requests.filter((r) => r.method === "GET" && r.path.startsWith(prefix)).length;
  try {
    const brokenBody = (row: string, path: string, fault: Omit<OriginFile, "body">) => brokenThenFixed(origin, env.scale.file, url(row, path), `/${path}`, fault);
    return [
      await brokenBody(names.cut, "cut/file.bin", { breakMidBody: true }).then((r) => r("upstream cut mid-body", fetches(origin, "/cut/"))),
      await brokenBody(names.stall, "stall/file.bin", { stallMidBodyMs: 5_000 }).then((r) => r("upstream stalls mid-body", fetches(origin, "/stall/"))),
      await stormRow(stormy, (path) => url(names.storm, path)),
      await rateLimitedRow(origin, url(names.limited, "limited/file.bin")),
      await headerTimeoutRow(origin, (path) => url(names.slow, path)),
      await brokenBody(names.length, "length/file.bin", { declaredLength: env.scale.file + 4096 }).then((r) => r("wrong Content-Length (longer than sent)", fetches(origin, "/length/"))),
      await redirectLoopRow(origin, (path) => url(names.loop, path)),
    ];
  } finally {
    await stack.destroy();
    await backends.stop();
    await origin.stop();
    await stormy.stop();
  }
}

/**
 * Clients ask for a file whose body the upstream breaks; none may get it complete and nothing
 * may be cached. Then the upstream is fixed: the next request gets the file and caches it.
 */
async function brokenThenFixed(origin: Origin, size: number, url: string, path: string, fault: Omit<OriginFile, "body">) {
  const body = randomBytes(size);
  const valid = [sha256(body)];
  const tally = new Tally();
  origin.serve(path, { body, ...fault });
  await tally.all(CLIENTS, url, valid);
  const completeWhileBroken = tally.correct + tally.corrupted;
  const partialKept = await partialEntries([{ url, valid }]);
  origin.serve(path, body);
  const recovered = (await tally.get(url, valid)) === "correct" && (await fetch(url, { method: "HEAD" })).headers.get("x-artifact-source") === "cache";
  return (scenario: string, upstreamFetches: number): FaultRow =>
    tally.row(scenario, {
      partialKept,
      upstreamFetches,
      expectation: "no complete body while broken; fixed upstream: next request served and cached",
      held: completeWhileBroken === 0 && recovered,
    });
}

/** Every request fails with 503: cached paths answer stale, the breaker opens, then closes once the upstream answers. */
async function stormRow(stormy: Origin, url: (path: string) => string): Promise<FaultRow> {
  const documents = ["index/a.txt", "index/b.txt"].map((path) => ({ path, body: `${path} v1\n` }));
  for (const { path, body } of documents) stormy.serve(`/${path}`, body);
  const tally = new Tally();
  for (const { path, body } of documents) await tally.get(url(path), [sha256(body)]);
  await sleep(1_200); // mutable_ttl: both are stale now
  stormy.failWith = 503;
  const before = stormy.requests.length;
  const stormRequests: Promise<unknown>[] = [];
  for (let round = 0; round < 6; round++) {
    for (const { path, body } of documents) stormRequests.push(tally.get(url(path), [sha256(body)]));
    for (const path of ["files/c.bin", "files/d.bin"]) stormRequests.push(tally.get(url(path), []));
    await Promise.all(stormRequests.splice(0));
  }
  const upstreamFetches = stormy.requests.length - before;
  const staleWhileStorm = tally.stale;
  stormy.failWith = null;
  await sleep(2_200); // the breaker's `open`
  const recovered = (await tally.get(url(documents[0]!.path), [sha256(documents[0]!.body)])) === "correct";
  const valid = documents.map(({ path, body }) => ({ url: url(path), valid: [sha256(body)] }));
  return tally.row("5xx storm", {
    partialKept: await partialEntries(valid),
    upstreamFetches,
    expectation: "cached paths answer stale; breaker opens (fewer upstream fetches than requests); recovers",
    held: staleWhileStorm === 12 && upstreamFetches < 24 && recovered,
  });
}

/** 429 with Retry-After: the client gets 503 with the upstream's Retry-After, nothing is cached. */
async function rateLimitedRow(origin: Origin, url: string): Promise<FaultRow> {
  origin.serve("/limited/file.bin", { body: "slow down", status: 429, headers: { "retry-after": "7" } });
  const tally = new Tally();
  await tally.all(CLIENTS, url, []);
  const one = await fetch(url);
  await one.arrayBuffer();
  return tally.row("429 with Retry-After", {
    partialKept: await partialEntries([{ url, valid: [] }]),
    upstreamFetches: origin.count("/limited/file.bin"),
    expectation: "503 with the upstream's Retry-After to every client",
    held: tally.errors["503"] === CLIENTS && one.status === 503 && one.headers.get("retry-after") === "7",
  });
}

/** No response headers within upstream_timeout: 504 for a file not cached, the stale copy for one that is. */
async function headerTimeoutRow(origin: Origin, url: (path: string) => string): Promise<FaultRow> {
  const tally = new Tally();
  const cached = { path: "index/slow.txt", v1: "slow v1\n" };
  origin.serve(`/${cached.path}`, cached.v1);
  await tally.get(url(cached.path), [sha256(cached.v1)]);
  await sleep(1_200);
  origin.serve(`/${cached.path}`, { body: "slow v2\n", delayMs: 3_000 });
  origin.serve("/files/slow.bin", { body: "never in time", delayMs: 3_000 });
  const outcomes = await Promise.all([
    ...Array.from({ length: CLIENTS }, () => tally.get(url(cached.path), [sha256(cached.v1)])),
    ...Array.from({ length: CLIENTS }, () => tally.get(url("files/slow.bin"), [])),
  ]);
  return tally.row("header timeout", {
    partialKept: await partialEntries([{ url: url(cached.path), valid: [sha256(cached.v1), sha256("slow v2\n")] }, { url: url("files/slow.bin"), valid: [] }]),
    upstreamFetches: origin.count(`/${cached.path}`) + origin.count("/files/slow.bin"),
    // Timeouts on two paths are the upstream's failures: the breaker may open (503) before the last ones.
    expectation: "stale copy served where cached, 504 (503 once the breaker opens) where not",
    held: outcomes.slice(0, CLIENTS).every((o) => o === "correct") && tally.stale >= CLIENTS && (tally.errors["504"] ?? 0) >= 1 && (tally.errors["504"] ?? 0) + (tally.errors["503"] ?? 0) === CLIENTS,
  });
}

/** A redirect loop is refused with 502 and is the proxy's refusal, not an upstream failure: the breaker stays closed. */
async function redirectLoopRow(origin: Origin, url: (path: string) => string): Promise<FaultRow> {
  origin.redirect("/loop/a", "/loop/b").redirect("/loop/b", "/loop/a").serve("/loop/ok.txt", "still fine\n");
  const tally = new Tally();
  for (let round = 0; round < 3; round++) await Promise.all([tally.get(url("loop/a"), []), tally.get(url("loop/b"), [])]);
  const good = await tally.get(url("loop/ok.txt"), [sha256("still fine\n")]);
  return tally.row("redirect loop", {
    partialKept: await partialEntries([{ url: url("loop/a"), valid: [] }]),
    upstreamFetches: origin.requests.filter((r) => r.method === "GET" && r.path.startsWith("/loop/")).length,
    expectation: "502 for the loop; the breaker stays closed for the remote's other files",
    held: tally.errors["502"] === 6 && good === "correct",
  });
}
