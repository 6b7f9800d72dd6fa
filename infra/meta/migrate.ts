import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PgConnection } from "../pg/connection.ts";

const migrationsDir = new URL("../migrations/", import.meta.url).pathname;

/** Applies every migration in order. Each file is idempotent (IF NOT EXISTS), so re-running is safe. */
export async function applyMigrations(pg: PgConnection): Promise<void> {
  const files = (await readdir(migrationsDir)).filter((f) => f.endsWith(".sql")).sort();
  for (const file of files) await pg.query(await readFile(join(migrationsDir, file), "utf8"));
}
