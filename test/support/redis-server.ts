import { spawn } from "node:child_process";
import Redis from "ioredis";
import { freePort } from "../../infra/local/free-port.ts";

export interface OwnRedis {
  url: string;
  /** FLUSHALL on this server only: the state store loses everything, as a Redis restart would. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free port, for tests that flush or lose Redis (the
 * machine's Redis is shared with other runs and is never flushed).
 */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const child = spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  const client = await connectWhenUp(url);
  if (!client) {
    child.kill("SIGKILL");
    throw new Error(`redis-server on port ${port} did not start within 10 s`);
  }
  return {
    url,
    flush: async () => void (await client.flushall()),
    stop: async () => {
      client.disconnect();
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A client once the server answers PING (it takes a moment to listen), or null after 10 s. */
async function connectWhenUp(url: string): Promise<Redis | null> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    if ((await client.connect().then(() => client.ping(), () => null)) === "PONG") return client;
    client.disconnect();
  }
  return null;
}
