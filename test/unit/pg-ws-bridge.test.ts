import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startPgWsBridge, type PgWsBridge } from "../../infra/local/pg-ws-bridge.ts";

/** The bridge must relay to its one Postgres and nowhere else (never an open relay). */
describe("Postgres WebSocket bridge", () => {
  let bridge: PgWsBridge;

  beforeAll(async () => {
    bridge = await startPgWsBridge({ allowedAddress: "127.0.0.1:5432" });
  });

  afterAll(() => bridge.close());

  const connect = (query: string) =>
    new Promise<"open" | number>((resolve) => {
      const ws = new WebSocket(`ws://${bridge.wsProxy}${query}`);
      ws.once("open", () => {
        ws.close();
        resolve("open");
      });
      ws.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    });

  it("accepts the allowed address", async () => {
    expect(await connect("?address=127.0.0.1:5432")).toBe("open");
  });

  it("refuses any other address or none", async () => {
    expect(await connect("?address=127.0.0.1:6379")).toBe(401);
    expect(await connect("")).toBe(401);
  });
});
