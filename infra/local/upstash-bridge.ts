import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import Redis, { ReplyError } from "ioredis";

/**
 * The Upstash REST protocol over a real Redis, so `@upstash/redis` runs unchanged against a local
 * server: `POST /` (one command), `POST /pipeline`, `POST /multi-exec`.
 */
export interface UpstashBridgeOptions {
  redisUrl: string;
  token: string;
  port?: number;
  host?: string;
}

export interface UpstashBridge {
  url: string;
  token: string;
  close(): Promise<void>;
}

type Command = [string, ...unknown[]];
type Entry = { result: unknown } | { error: string };

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const { redisUrl, token, port = 0, host = "127.0.0.1" } = options;
  // No offline queue: while Redis is down a command fails at once (503), as a hosted REST
  // endpoint would answer, instead of waiting for a reconnect.
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", () => {}); // reconnects on its own; failures surface per command
  await redis.connect();
  const expected = Buffer.from(`Bearer ${token}`);

  const server = createServer((req, res) => {
    // Malformed JSON is the client's fault (400); anything else is the bridge's (500).
    handle(req, res).catch((error: unknown) => send(res, error instanceof SyntaxError ? 400 : 503, { error: errorMessage(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = Buffer.from(req.headers.authorization ?? "");
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      return send(res, 401, { error: "Unauthorized" });
    }
    if (req.method !== "POST") return send(res, 405, { error: "ERR only POST is supported" });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "null");
    const encode = req.headers["upstash-encoding"] === "base64" ? toBase64 : (value: unknown) => value;
    const path = (req.url ?? "/").split("?")[0];

    if (path === "/pipeline" || path === "/multi-exec") {
      if (!isCommandList(body)) return send(res, 400, { error: "ERR expected an array of commands" });
      const batch = path === "/pipeline" ? redis.pipeline() : redis.multi();
      for (const [name, ...args] of body) batch.call(name.toUpperCase(), ...args.map(String));
      const replies = (await batch.exec().catch((error: unknown) => error)) ?? [];
      if (!Array.isArray(replies)) return send(res, replies instanceof ReplyError ? 400 : 503, { error: errorMessage(replies) });
      const entries: Entry[] = replies.map(([error, result]: [Error | null, unknown]) =>
        error ? { error: error.message } : { result: encode(result) },
      );
      return send(res, 200, entries);
    }
    if (path === "/") {
      if (!isCommand(body)) return send(res, 400, { error: "ERR expected a command array" });
      const [name, ...args] = body;
      try {
        return send(res, 200, { result: encode(await redis.call(name.toUpperCase(), ...args.map(String))) });
      } catch (error) {
        // Redis refusing the command is the client's fault; an unreachable Redis is an outage.
        return send(res, error instanceof ReplyError ? 400 : 503, { error: errorMessage(error) });
      }
    }
    return send(res, 404, { error: "ERR unknown path" });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    token,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // keep-alive sockets would hold close() open
      await closed;
      redis.disconnect();
    },
  };
}

function isCommand(value: unknown): value is Command {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === "string";
}

function isCommandList(value: unknown): value is Command[] {
  return Array.isArray(value) && value.every(isCommand);
}

/** Upstash encodes every string of a result (nested too); numbers and null stay as they are. */
function toBase64(value: unknown): unknown {
  if (typeof value === "string") return Buffer.from(value, "utf8").toString("base64");
  if (Array.isArray(value)) return value.map(toBase64);
  return value;
}

/** Connection errors read as outages to the client (see infra/state/upstash.ts), never as `ERR …` refusals. */
function errorMessage(error: unknown): string {
  if (error instanceof Error && !(error instanceof ReplyError)) return `redis unreachable: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
