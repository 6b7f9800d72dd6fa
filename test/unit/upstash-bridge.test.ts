import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashBridge, type UpstashBridge } from "../../infra/local/upstash-bridge.ts";

/** The bridge against the real Redis on 127.0.0.1:6379, spoken to as @upstash/redis does. */
describe("Upstash REST bridge", () => {
  const prefix = `bridge-test:${randomUUID()}:`;
  let bridge: UpstashBridge;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    bridge = await startUpstashBridge({ redisUrl: "redis://127.0.0.1:6379", token: randomUUID() });
  });

  afterAll(async () => {
    await post("/", ["DEL", `${prefix}s`, `${prefix}h`, `${prefix}n`, `${prefix}p`]);
    await bridge.close();
  });

  it("refuses a wrong or missing token with 401", async () => {
    const wrong = await post("/", ["PING"], { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "Unauthorized" });
    const missing = await fetch(bridge.url, { method: "POST", body: '["PING"]' });
    expect(missing.status).toBe(401);
  });

  it("runs one command; a missing key is a null result; numbers are stringified", async () => {
    expect(await (await post("/", ["SET", `${prefix}s`, "v", "PX", 60_000])).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", `${prefix}s`])).json()).toEqual({ result: "v" });
    expect(await (await post("/", ["GET", `${prefix}missing`])).json()).toEqual({ result: null });
    expect(await (await post("/", ["INCRBY", `${prefix}n`, 5])).json()).toEqual({ result: 5 });
  });

  it("answers a Redis error with 400 and its message", async () => {
    const response = await post("/", ["INCR", `${prefix}s`]);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringMatching(/^ERR /) });
  });

  it("base64-encodes every string in the result, nested too, but not numbers or null", async () => {
    await post("/", ["HSET", `${prefix}h`, "field", "ü✓"]);
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const headers = { "upstash-encoding": "base64" };
    expect(await (await post("/", ["HGETALL", `${prefix}h`], headers)).json()).toEqual({
      result: [b64("field"), b64("ü✓")],
    });
    // The shared Redis holds other runs' keys: walk the cursor (itself a base64 string) to the end.
    const found: string[] = [];
    let cursor = "0";
    do {
      const scan = (await (await post("/", ["SCAN", cursor, "MATCH", `${prefix}h`, "COUNT", 1000], headers)).json()) as {
        result: [string, string[]];
      };
      cursor = Buffer.from(scan.result[0], "base64").toString();
      found.push(...scan.result[1]);
    } while (cursor !== "0");
    // Only the one key this test wrote matches: exactly it, encoded (an empty result fails).
    expect(found).toEqual([b64(`${prefix}h`)]);
    expect(await (await post("/", ["GET", `${prefix}missing`], headers)).json()).toEqual({ result: null });
    expect(await (await post("/", ["INCR", `${prefix}n`], headers)).json()).toEqual({ result: 6 });
  });

  it("runs a pipeline with per-command results and errors", async () => {
    const response = await post("/pipeline", [
      ["SET", `${prefix}p`, "1"],
      ["INCR", `${prefix}p`],
      ["INCR", `${prefix}s`],
      ["GET", `${prefix}missing`],
    ]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { result: "OK" },
      { result: 2 },
      { error: expect.stringMatching(/^ERR /) },
      { result: null },
    ]);
  });

  it("runs multi-exec as one transaction", async () => {
    const response = await post("/multi-exec", [
      ["SET", `${prefix}p`, "10"],
      ["INCR", `${prefix}p`],
    ]);
    expect(await response.json()).toEqual([{ result: "OK" }, { result: 11 }]);
  });
});
