import { app } from "./app.ts";
import { currentRemotes } from "./config/cache.ts";
import type { Env } from "./env.ts";
import { runMaintenance } from "./maintenance/index.ts";
import { answerHot } from "./proxy/hot-route.ts";
import { withoutInternalHeaders } from "./virtuals/member-observer.ts";
import { createStores } from "./stores.ts";

export { FillCoordinator } from "./fills/coordinator.ts";

export default {
  // The coordinator calls the app itself: only requests from outside come through here.
  fetch: (request, env, ctx) => answerHot(request, env) ?? app.fetch(withoutInternalHeaders(request), env, ctx),
  /** The Cron Trigger (wrangler.toml `[triggers]`): sweeps abandoned uploads and keeps storage bounded. */
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const stores = createStores(env);
    ctx.waitUntil(
      runMaintenance(stores, (await currentRemotes(stores)).values())
        .then((report) => console.log("maintenance:", JSON.stringify(report)))
        .finally(() => stores.close()),
    );
  },
} satisfies ExportedHandler<Env>;
