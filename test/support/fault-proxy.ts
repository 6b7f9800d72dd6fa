import { createServer, type Server, type Socket } from "node:net";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";

/**
 * What a backend's connection does:
 * - pass: bytes flow both ways;
 * - refuse: nothing listens on the port (connection refused), open connections are dropped;
 * - close: connections are accepted and dropped at once, open ones too (a crashing server);
 * - stall: connections are accepted but no byte moves either way, open ones freeze too (a hung server).
 */
export type TcpFault = "pass" | "refuse" | "close" | "stall";

interface Pair {
  client: Socket;
  server: Socket;
}

/**
 * A TCP forwarder on loopback in front of a backend (Redis, Postgres) that a test switches
 * between working and failing, so the proxy's own backends can go down the ways real ones do.
 */
export class TcpFaultProxy {
  readonly #target: { host: string; port: number };
  readonly #pairs = new Set<Pair>();
  #server: Server | null = null;
  #port = 0;
  #fault: TcpFault = "pass";
  /** Connections accepted so far. */
  connections = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  get port(): number {
    return this.#port;
  }

  get fault(): TcpFault {
    return this.#fault;
  }

  async start(): Promise<this> {
    await this.#listen(this.#port);
    return this;
  }

  /** Switches what connections do, open ones included. */
  async set(fault: TcpFault): Promise<void> {
    const was = this.#fault;
    this.#fault = fault;
    if (fault === "refuse" || fault === "close") for (const pair of this.#pairs) this.#drop(pair);
    for (const pair of this.#pairs) this.#flow(pair);
    if (fault === "refuse" && was !== "refuse") await this.#unlisten();
    if (fault !== "refuse" && was === "refuse") await this.#listen(this.#port);
  }

  async stop(): Promise<void> {
    for (const pair of this.#pairs) this.#drop(pair);
    await this.#unlisten();
  }

  #listen(port: number): Promise<void> {
    const server = createServer((client) => this.#accept(client));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        this.#port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  #unlisten(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  #accept(client: Socket): void {
    this.connections++;
    if (this.#fault === "close") return void client.destroy();
    const server = connect(this.#target.port, this.#target.host);
    const pair = { client, server };
    this.#pairs.add(pair);
    client.pipe(server);
    server.pipe(client);
    const drop = () => this.#drop(pair);
    client.on("error", drop).on("close", drop);
    server.on("error", drop).on("close", drop);
    this.#flow(pair);
  }

  /** Paused sockets read nothing, so nothing is forwarded until the fault is lifted. */
  #flow({ client, server }: Pair): void {
    if (this.#fault === "stall") {
      client.unpipe(server);
      server.unpipe(client);
      client.pause();
      server.pause();
    } else if (client.isPaused()) {
      client.pipe(server);
      server.pipe(client);
    }
  }

  #drop(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.client.destroy();
    pair.server.destroy();
  }
}
