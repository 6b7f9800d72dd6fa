import { Client, neonConfig } from "@neondatabase/serverless";
import { DEFAULT_BACKEND_TIMEOUT_SECONDS, withinTimeout } from "../backend-timeout.ts";
import { BackendUnavailable, isUnavailable } from "../unavailable.ts";

export interface PgOptions {
  /** postgres://user:pass@host:port/db */
  databaseUrl: string;
  /**
   * `host:port/path` of a WebSocket→TCP bridge (the project's infra/local/pg-ws-bridge.ts) for
   * a plain Postgres; unset for Neon, which speaks WebSocket itself.
   */
  wsProxy?: string;
  /** Needed in Node < 22 or to pass the `ws` package; workerd has a global WebSocket. */
  webSocketConstructor?: unknown;
  /** Longest wait for the connection or one statement before Postgres counts as unavailable. */
  timeoutMs?: number;
}

/**
 * One lazily opened Postgres connection, shared by the adapters that need Postgres during one
 * Worker invocation. Workers cannot reuse a socket across requests, so each request gets its
 * own and closes it when its background work is done.
 */
export class PgConnection {
  #client: Client | null = null;
  #connecting: Promise<Client> | null = null;
  readonly #options: PgOptions;
  queries = 0;

  constructor(options: PgOptions) {
    this.#options = options;
  }

  async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<Row[]> {
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_BACKEND_TIMEOUT_SECONDS * 1000;
    try {
      const run = async () => {
        const client = await this.#connect();
        this.queries++;
        return (await client.query(sql, params)).rows as Row[];
      };
      return await withinTimeout("metadata", timeoutMs, run, () => void this.close());
    } catch (error) {
      // Postgres refusing a statement carries its SQLSTATE; a lost or refused connection does not.
      if (isStatementError(error) || isUnavailable(error)) throw error;
      void this.close();
      throw new BackendUnavailable("metadata", error);
    }
  }

  /** Runs `work` inside BEGIN/COMMIT on this connection; rolls back if it throws. */
  async transaction<T>(work: (tx: PgConnection) => Promise<T>): Promise<T> {
    await this.query("BEGIN");
    try {
      const result = await work(this);
      await this.query("COMMIT");
      return result;
    } catch (error) {
      await this.query("ROLLBACK").catch(() => {});
      throw error;
    }
  }

  /** Whether a connection was opened (and so has to be closed). */
  get opened(): boolean {
    return this.#connecting !== null;
  }

  async close(): Promise<void> {
    const connecting = this.#connecting;
    this.#client = null;
    this.#connecting = null;
    if (connecting) await (await connecting.catch(() => null))?.end().catch(() => {});
  }

  #connect(): Promise<Client> {
    this.#connecting ??= (async () => {
      configureNeon(this.#options);
      const client = new Client({ connectionString: this.#options.databaseUrl });
      client.on("error", () => {
        // A dropped socket surfaces on the next query; an unhandled 'error' event would crash the isolate.
      });
      await client.connect();
      this.#client = client;
      return client;
    })();
    this.#connecting.catch(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }
}

/**
 * Postgres refused the statement (a SQLSTATE such as 23505 or 42P01). Connection exceptions
 * (class 08), shutdowns (57P0x), resource exhaustion (class 53) and socket errnos (EPIPE, …)
 * mean the database cannot be used right now instead.
 */
function isStatementError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !/^(E|08|53|57P)/.test(code);
}

function configureNeon(options: PgOptions): void {
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor as never;
  if (options.wsProxy) {
    const proxy = options.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
}
