import { env } from "cloudflare:workers";
import { UpstashStateStore } from "../../infra/state/upstash.ts";
import { stateStoreContract } from "./state-store.contract.ts";

stateStoreContract("upstash (bridge to Redis)", async () => {
  const store = new UpstashStateStore({ url: env.BACKENDS.upstashUrl, token: env.BACKENDS.upstashToken });
  await store.ping(); // unreachable backend: fail here, loudly
  return store;
});
