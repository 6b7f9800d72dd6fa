import type { IncomingMessage, ServerResponse } from "node:http";
import { gzipSync } from "node:zlib";
import { LoopbackServer } from "./loopback-server.ts";

/** How the origin answers one path. */
export interface OriginFile {
  body: Buffer | string;
  contentType?: string;
  /** Send without Content-Length (chunked transfer encoding). */
  chunked?: boolean;
  /** Send the body gzip-compressed with Content-Encoding: gzip. */
  gzip?: boolean;
  /** Send the headers and half the body, then drop the connection. */
  breakMidBody?: boolean;
  /** Wait this long before answering. */
  delayMs?: number;
  status?: number;
  headers?: Record<string, string>;
  /** Send no ETag, only Last-Modified (as a static file server such as Python's http.server does). */
  noEtag?: boolean;
  /** Send half the body, then nothing for this long, then the rest. */
  stallMidBodyMs?: number;
  /** Announce this Content-Length whatever the body's length, and close the connection after the body. */
  declaredLength?: number;
  /** Send the body at this pace (a long download), in 64 KiB writes. */
  bytesPerSecond?: number;
}

/**
 * A real HTTP origin on loopback that a test controls: what it serves, how it misbehaves,
 * and a log of every request it received (so a test can prove a hit never reached it).
 */
export class Origin {
  readonly files = new Map<string, OriginFile>();
  /** Every request received: `path` without the query, `search` its query (with `?`, or ""). */
  readonly requests: { method: string; path: string; search: string; headers: IncomingMessage["headers"] }[] = [];
  /** When set, every request is answered with this status. */
  failWith: number | null = null;
  readonly #server = new LoopbackServer((req, res) => void this.#handle(req, res));

  get url(): string {
    return this.#server.url;
  }

  get port(): number {
    return this.#server.port;
  }

  count(path: string, method = "GET"): number {
    return this.requests.filter((r) => r.path === path && r.method === method).length;
  }

  serve(path: string, file: OriginFile | Buffer | string): this {
    const plain = typeof file === "string" || Buffer.isBuffer(file);
    this.files.set(path, plain ? { body: file as Buffer | string } : (file as OriginFile));
    return this;
  }

  /** `path` answers 302 to `location` (absolute, or relative to this origin). */
  redirect(path: string, location: string): this {
    return this.serve(path, { body: "", status: 302, headers: { location } });
  }

  async start(port?: number): Promise<this> {
    await this.#server.start(port);
    return this;
  }

  /** Stops listening and drops open connections: the upstream is down (connection refused). */
  stop(): Promise<void> {
    return this.#server.stop();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname: path, search } = new URL(`http://origin${req.url ?? "/"}`);
    this.requests.push({ method: req.method ?? "GET", path, search, headers: req.headers });
    if (this.failWith !== null) return void res.writeHead(this.failWith).end("origin failure");
    // A file served for `path?query` answers that query only; one served for `path`, any query
    // and any percent-encoding of it (as web servers decode paths).
    const file = this.files.get(path + search) ?? this.files.get(path) ?? this.files.get(decodePath(path));
    if (!file) return void res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    if (file.delayMs) await new Promise((resolve) => setTimeout(resolve, file.delayMs));

    const raw = Buffer.from(file.body);
    const body = file.gzip ? gzipSync(raw) : raw;
    const headers: Record<string, string> = {
      "content-type": file.contentType ?? "application/octet-stream",
      "last-modified": "Tue, 03 Nov 2026 10:00:00 GMT",
      ...(file.noEtag ? {} : { etag: `"${raw.length}-${raw.subarray(0, 16).toString("hex")}"` }),
      ...file.headers,
    };
    if (file.gzip) headers["content-encoding"] = "gzip";
    if (notModified(req, headers)) return void res.writeHead(304, headers).end();
    if (!file.chunked) headers["content-length"] = String(file.declaredLength ?? body.length);
    res.writeHead(file.status ?? 200, headers);
    if (req.method === "HEAD") return void res.end();
    if (file.breakMidBody) {
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    const half = Math.floor(body.length / 2);
    if (file.stallMidBodyMs) {
      await write(res, body.subarray(0, half), file.bytesPerSecond);
      await new Promise((resolve) => setTimeout(resolve, file.stallMidBodyMs));
      await write(res, body.subarray(half), file.bytesPerSecond);
    } else {
      await write(res, body, file.bytesPerSecond);
    }
    if (file.declaredLength !== undefined && file.declaredLength !== body.length) return void res.socket?.destroy();
    res.end();
  }
}

/** Several writes, so chunked bodies really arrive in chunks; paced when asked. */
async function write(res: ServerResponse, body: Buffer, bytesPerSecond?: number): Promise<void> {
  const step = bytesPerSecond ? 64 * 1024 : 1 << 20;
  for (let offset = 0; offset < body.length && !res.destroyed; offset += step) {
    if (!res.write(body.subarray(offset, offset + step))) await drained(res);
    if (bytesPerSecond) await new Promise((resolve) => setTimeout(resolve, (step / bytesPerSecond) * 1000));
  }
}

/** Until the response can take more, or its client is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.on("drain", done).on("close", done);
  });
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** RFC 9110's conditional GET: If-None-Match against the ETag sent; else If-Modified-Since against Last-Modified. */
function notModified(req: IncomingMessage, headers: Record<string, string>): boolean {
  const ifNoneMatch = req.headers["if-none-match"];
  if (ifNoneMatch !== undefined) return headers.etag !== undefined && ifNoneMatch.split(",").some((tag) => tag.trim() === headers.etag);
  const since = Date.parse(req.headers["if-modified-since"] ?? "");
  const modified = Date.parse(headers["last-modified"] ?? "");
  return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
}
