import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { createWebSocketStream, WebSocketServer } from "ws";

/**
 * WebSocket→TCP bridge so `@neondatabase/serverless` reaches a plain Postgres. It relays only
 * to `allowedAddress`: anything else is refused at the handshake, so it is never an open relay.
 */
export interface PgWsBridge {
  /** `host:port/path` for PgOptions.wsProxy. */
  wsProxy: string;
  close(): Promise<void>;
}

export async function startPgWsBridge(options: { allowedAddress: string; port?: number }): Promise<PgWsBridge> {
  const { allowedAddress, port = 0 } = options;
  const [host, portText] = splitAddress(allowedAddress);
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port,
    path: "/v1",
    verifyClient: ({ req }: { req: IncomingMessage }) => new URL(req.url ?? "", "http://bridge").searchParams.get("address") === allowedAddress,
  });

  wss.on("connection", (ws) => {
    const socket = connect(Number(portText), host);
    const stream = createWebSocketStream(ws);
    // Closing either side closes the other; pipe() keeps backpressure in both directions.
    const closeBoth = () => {
      socket.destroy();
      stream.destroy();
    };
    socket.on("error", closeBoth).on("close", closeBoth);
    stream.on("error", closeBoth).on("close", closeBoth);
    stream.pipe(socket).pipe(stream);
    // PGlite's socket server keeps a connection open after Terminate ('X'), and the driver's
    // end() waits for the close: close it here once the client has said goodbye.
    ws.on("message", (data: Buffer) => {
      if (data.length >= 5 && data.subarray(-5).equals(TERMINATE)) ws.close();
    });
  });

  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  return {
    wsProxy: `127.0.0.1:${(wss.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4]);

function splitAddress(address: string): [string, string] {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) throw new Error(`allowedAddress must be host:port, got ${address}`);
  return [address.slice(0, colon), address.slice(colon + 1)];
}
