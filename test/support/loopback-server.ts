import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * An HTTP server on 127.0.0.1 that a test can take down and bring back on the same port, as an
 * upstream outage would: stop() refuses new connections and drops open ones.
 */
export class LoopbackServer {
  readonly #handler: RequestListener;
  #server: Server | null = null;
  #sockets = new Set<Socket>();
  #port = 0;

  constructor(handler: RequestListener) {
    this.#handler = handler;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Listens on `port`, or the port it had before, or a free one. */
  async start(port = this.#port): Promise<void> {
    this.#server = createServer(this.#handler);
    this.#server.on("connection", (socket) => {
      this.#sockets.add(socket);
      socket.on("close", () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.#server!.listen(port, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    this.#server = null;
  }
}
