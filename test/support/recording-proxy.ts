import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  /** Path and query as sent (`/bucket/key?uploadId=…`). */
  url: string;
}

/**
 * How the proxy fails the requests it matches (by method; all when `methods` is unset):
 * `error` answers that status with an S3-style XML error, `stall` never answers (the
 * connection stays open until the fault is lifted or the proxy stops).
 */
export type HttpFault = { kind: "error"; status: number; methods?: string[] } | { kind: "stall"; methods?: string[] };

export interface RecordingProxy {
  url: string;
  readonly requests: RecordedRequest[];
  /** The fault applied to requests from now on; null passes everything through. */
  fault: HttpFault | null;
  /** Requests the fault answered (or is holding). */
  readonly faulted: number;
  stop(): Promise<void>;
}

/**
 * An HTTP forwarder on loopback that records every request it passes on: put in front of the
 * S3 emulator, it shows what the Worker asked the blob store (a multipart upload aborted, a key
 * deleted) where the emulator itself cannot list it, and it can make the blob store fail.
 */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const target = new URL(upstream);
  const requests: RecordedRequest[] = [];
  const held = new Set<ServerResponse>();
  let faulted = 0;
  const proxy: RecordingProxy = {
    url: "",
    requests,
    fault: null,
    get faulted() {
      return faulted;
    },
    stop: () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const outgoing = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    outgoing.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`recording proxy: ${error.message}`);
    });
    req.pipe(outgoing);
  };
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "GET", url: req.url ?? "/" });
    const fault = proxy.fault;
    if (!fault || (fault.methods && !fault.methods.includes(req.method ?? "GET"))) return forward(req, res);
    faulted++;
    req.resume(); // the request body is read and dropped, as a failing server would
    if (fault.kind === "stall") {
      held.add(res);
      res.on("close", () => held.delete(res));
      return;
    }
    res.writeHead(fault.status, { "content-type": "application/xml" });
    res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected fault</Message></Error>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
