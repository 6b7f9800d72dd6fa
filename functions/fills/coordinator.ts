import { DurableObject } from "cloudflare:workers";
import { app } from "../app.ts";
import type { Env } from "../env.ts";
import { INSIDE_COORDINATOR } from "../proxy/coordination.ts";

/**
 * One Durable Object per cold key (its id is the key's name): the Worker hands a miss to it,
 * and it runs the same app. Requests in one Durable Object may share a stream — requests in an
 * ordinary isolate may not — so the first becomes the leader and fills, and those arriving
 * meanwhile read the bytes as they land (Fill.join), each with its own bounded buffer.
 * Bound as FILLS in wrangler.toml; needs Durable Objects (the Workers Paid plan, or
 * SQLite-backed classes on the Free plan). Without the binding misses wait for the commit.
 */
export class FillCoordinator extends DurableObject<Env> {
  readonly #env: Env;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#env = { ...env, [INSIDE_COORDINATOR]: "1" };
  }

  async fetch(request: Request): Promise<Response> {
    const ctx = this.ctx;
    // What the app uses of an ExecutionContext: background work, kept alive by the object.
    const execution = { waitUntil: (promise: Promise<unknown>) => ctx.waitUntil(promise), passThroughOnException: () => {}, props: {} };
    return app.fetch(request, this.#env, execution as unknown as ExecutionContext);
  }
}
