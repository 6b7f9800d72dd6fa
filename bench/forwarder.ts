import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import type { Cleanup } from "./processes.ts";

export interface Forwarder {
  url: string;
  host: string;
  /** Requests forwarded so far. */
  readonly count: number;
}

/**
 * A plain HTTP forwarder on loopback in front of an upstream, counting every request it passes
 * on: what stands between a cache and its upstream, so a warm run's upstream requests can be
 * counted. The Host header passes through, so URLs the upstream builds point back at the forwarder.
 */
export async function startForwarder(cleanup: Cleanup, upstream: string): Promise<Forwarder> {
  const target = new URL(upstream);
  let count = 0;
  const server = createServer((req, res) => {
    count++;
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    outgoing.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`forwarder: ${error.message}`);
    });
    req.pipe(outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanup.defer(`forwarder to ${upstream}`, () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    get count() {
      return count;
    },
  };
}
