import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { request } from "node:http";
import { connect } from "node:net";

/** Reads a body to the end, hashing as it goes (20 × 50 MiB never sits in memory at once). */
export async function sha256OfBody(response: Response): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { sha256: hash.digest("hex"), bytes };
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A GET that leaves Content-Encoding alone (fetch() would decompress). */
export function rawGet(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` passes or the time is up; the last failure is rethrown. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** A JSON body, loosely typed: tests assert its shape themselves. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = (response: Response): Promise<any> => response.json();

/** A request that announces `declared` bytes, sends `send` of them, and drops the connection (a client killed mid-upload). */
export async function cutUpload(method: string, target: URL, token: string, declared: number, send: number): Promise<void> {
  const socket = connect(Number(target.port), target.hostname);
  await once(socket, "connect");
  socket.on("error", () => {});
  socket.write(`${method} ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${declared}\r\n\r\n`);
  const chunk = randomBytes(64 * 1024);
  for (let sent = 0; sent < send; sent += chunk.length) if (!socket.write(chunk)) await once(socket, "drain");
  // Long enough for the Worker to have streamed what arrived into the blob store.
  await sleep(500);
  socket.destroy();
}

/**
 * Sends a write's headers announcing a large body and waits for the answer without sending a
 * byte of it: a refusal that arrives proves the token was checked before the body was read.
 */
export function answerBeforeBody(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, "content-length": String(50 * 1024 * 1024) } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode!, body });
        req.destroy();
      });
    });
    req.on("error", reject);
    req.flushHeaders();
    setTimeout(() => reject(new Error("no answer before the body was sent")), 10_000).unref();
  });
}
