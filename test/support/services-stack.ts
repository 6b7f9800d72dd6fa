import { startExternalBackends, type ExternalBackends } from "./backends.ts";
import { startOwnRedis, type OwnRedis } from "./redis-server.ts";
import { startTestStack, type TestStack } from "./stack.ts";

/**
 * The proxy as `npm start` runs it on real services: Postgres, S3 (the emulator) and a Redis of
 * the suite's own, so that a test may flush it. `restart` keeps the data, as a user's restart would.
 */
export class ServicesStack {
  stack!: TestStack;
  readonly #remotes: Record<string, unknown>;
  readonly #env: Record<string, string>;
  #backends?: ExternalBackends;
  #redis?: OwnRedis;

  constructor(remotes: Record<string, unknown>, env: Record<string, string> = {}) {
    this.#remotes = remotes;
    this.#env = env;
  }

  async start(): Promise<TestStack> {
    this.#backends = await startExternalBackends();
    this.#redis = await startOwnRedis();
    this.stack = await startTestStack({ remotes: this.#remotes, env: { ...this.#backends.env, REDIS_URL: this.#redis.url, ...this.#env } });
    return this.stack;
  }

  /** Stops and starts the proxy again on the same data; with `flush`, the Redis is emptied in between. */
  async restart(options: { flush: boolean }): Promise<TestStack> {
    if (options.flush) await this.#redis!.flush();
    this.stack = await this.stack.restart(this.#remotes);
    return this.stack;
  }

  async destroy(): Promise<void> {
    await this.stack?.destroy();
    await this.#redis?.stop();
    await this.#backends?.stop();
  }
}
