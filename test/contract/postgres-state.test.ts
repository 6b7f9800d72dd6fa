import { env } from "cloudflare:workers";
import { PgConnection } from "../../infra/pg/connection.ts";
import { PostgresStateStore } from "../../infra/state/postgres.ts";
import { stateStoreContract } from "./state-store.contract.ts";

stateStoreContract("postgres (bridge to Postgres)", async () => {
  const { databaseUrl, pgWsProxy } = env.BACKENDS;
  const store = new PostgresStateStore(new PgConnection({ databaseUrl, wsProxy: pgWsProxy }));
  await store.ping(); // unreachable backend: fail here, loudly
  return store;
});
