import type { Context } from "hono";
import type { AppEnv } from "../../context.ts";

/** Records a management action (config change, eviction) for the live stream, after the response. */
export function logEvent(c: Context<AppEnv>, type: string, remote: string | undefined, data: Record<string, unknown>): void {
  c.var.background.run(c.var.stores.meta.appendEvents([{ type, remote, data }]));
}
