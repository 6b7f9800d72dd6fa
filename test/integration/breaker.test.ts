import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { eventually, json, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/** The per-remote circuit breaker, its state in whichever state store the stack runs on. */
describe.each([
  { backends: "embedded default (PGlite, Postgres state, local R2)", external: false },
  { backends: "Postgres + Redis (Upstash bridge) + S3", external: true },
])("circuit breaker on $backends", ({ external }) => {
  const adminToken = randomBytes(16).toString("hex");
  const origin = new Origin();
  /** Unique: the breaker's keys live in the shared Redis on the external backends. */
  const shaky = uniqueName("shaky");
  let backends: ExternalBackends | null = null;
  let stack: TestStack;

  beforeAll(async () => {
    origin.serve("/index/feed.txt", "feed").serve("/later.txt", "recovered");
    await origin.start();
    backends = external ? await startExternalBackends() : null;
    stack = await startTestStack({
      remotes: {
        [shaky]: {
          base_url: origin.url,
          allow_private_network: true,
          mutable_patterns: ["^index/"],
          mutable_ttl: 1,
          circuit_breaker: { failures: 3, window: 30, open: 2 },
        },
      },
      env: { ...backends?.env, ADMIN_TOKEN: adminToken },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    await origin.stop();
  });

  const get = (path: string) => fetch(`${stack.url}/api/v1/remote/${shaky}/${path}`);

  /** The events of the last minute, read from the management API's event stream. */
  async function eventTypes(): Promise<string[]> {
    const response = await fetch(`${stack.url}/api/v2/events?backlog=100&timeout=1`, { headers: { authorization: `Bearer ${adminToken}` } });
    return [...(await response.text()).matchAll(/^event: (.+)$/gm)].map((match) => match[1]!);
  }

  it("stops asking a failing upstream, answers from cache or with 503, and closes when it recovers", async () => {
    expect(await (await get("index/feed.txt")).text()).toBe("feed");
    await sleep(1_100); // the feed is stale from here on

    origin.failWith = 503;
    for (const path of ["a.bin", "b.bin", "c.bin"]) expect((await get(path)).status).toBe(502);

    // The breaker opens in the background of the third failure: a moment later nothing goes upstream.
    await eventually(async () => {
      const refused = await get("d.bin");
      expect(refused.status).toBe(503);
      expect((await json(refused)).error.code).toBe("UPSTREAM_CIRCUIT_OPEN");
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }, 3_000);
    const failures = origin.requests.length;
    expect((await get("e.bin")).status).toBe(503);
    const stale = await get("index/feed.txt");
    expect(await stale.text()).toBe("feed");
    expect(stale.headers.get("x-artifact-stale-reason")).toMatch(/circuit breaker open/);
    expect(origin.requests.length).toBe(failures);

    origin.failWith = null;
    await sleep(2_100);
    expect(await (await get("later.txt")).text()).toBe("recovered");
    await eventually(async () => expect(await eventTypes()).toEqual(expect.arrayContaining(["breaker.opened", "breaker.closed"])));
  });
});
