import type { PgConnection } from "../pg/connection.ts";
import type { StateStore } from "./types.ts";

/** A row counts only while unexpired; expired rows read as absent until something overwrites them. */
const LIVE = "(state_kv.expires_at IS NULL OR state_kv.expires_at > now())";
/** `now() + $n ms`; NULL when the parameter is NULL (no expiry). */
const expiry = (param: string) => `now() + ${param}::bigint * interval '1 millisecond'`;

/**
 * State store in the `state_kv` table (infra/migrations/001_init.sql), for the embedded default.
 * Every operation is a single statement, so each is atomic without a transaction and costs one
 * round trip.
 */
export class PostgresStateStore implements StateStore {
  readonly kind = "postgres" as const;
  #roundTrips = 0;

  private readonly pg: PgConnection;

  constructor(pg: PgConnection) {
    this.pg = pg;
  }

  get roundTrips(): number {
    return this.#roundTrips;
  }

  async get(key: string): Promise<string | null> {
    const rows = await this.#query<{ value: string }>(`SELECT value FROM state_kv WHERE key = $1 AND ${LIVE}`, [key]);
    return rows[0]?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#query(
      `INSERT INTO state_kv (key, value, expires_at) VALUES ($1, $2, ${expiry("$3")})
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      [key, value, ttlMs ?? null],
    );
  }

  async setMany(entries: ReadonlyArray<readonly [string, string]>, ttlMs?: number): Promise<void> {
    if (entries.length === 0) return;
    // Last write wins for a key given twice, as in MSET; ON CONFLICT may touch a row only once.
    const latest = new Map(entries);
    await this.#query(
      `INSERT INTO state_kv (key, value, expires_at) SELECT key, value, ${expiry("$3")} FROM unnest($1::text[], $2::text[]) AS e(key, value)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      [[...latest.keys()], [...latest.values()], ttlMs ?? null],
    );
  }

  async delete(key: string): Promise<void> {
    await this.#query("DELETE FROM state_kv WHERE key = $1", [key]);
  }

  async deletePrefix(prefix: string): Promise<number> {
    // Expired rows go too, but only live ones count, as in Redis where they are already gone.
    const rows = await this.#query<{ n: string }>(
      `WITH gone AS (DELETE FROM state_kv WHERE starts_with(key, $1) RETURNING expires_at)
       SELECT count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()) AS n FROM gone`,
      [prefix],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    // As Redis INCR: an expired counter restarts at 1 (with the new expiry, if any); a live one keeps its TTL.
    const rows = await this.#query<{ value: string }>(
      `INSERT INTO state_kv (key, value, expires_at) VALUES ($1, '1', ${expiry("$2")})
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN ${LIVE} THEN (state_kv.value::bigint + 1)::text ELSE '1' END,
         expires_at = CASE WHEN ${LIVE} THEN state_kv.expires_at ELSE excluded.expires_at END
       RETURNING value`,
      [key, ttlMs ?? null],
    );
    return Number(rows[0]?.value);
  }

  async compareAndSet(key: string, expected: string | null, value: string, ttlMs?: number): Promise<boolean> {
    // Absent: insert, or take over an expired row. Present: replace only the expected live value.
    const rows =
      expected === null
        ? await this.#query(
            `INSERT INTO state_kv (key, value, expires_at) VALUES ($1, $2, ${expiry("$3")})
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
             WHERE NOT ${LIVE}
             RETURNING 1`,
            [key, value, ttlMs ?? null],
          )
        : await this.#query(
            `UPDATE state_kv SET value = $3, expires_at = ${expiry("$4")} WHERE key = $1 AND value = $2 AND ${LIVE} RETURNING 1`,
            [key, expected, value, ttlMs ?? null],
          );
    return rows.length === 1;
  }

  async acquireLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    // One statement: the row lock taken by ON CONFLICT serialises racers, so exactly one wins.
    const rows = await this.#query(
      `INSERT INTO state_kv (key, value, expires_at) VALUES ($1, $2, ${expiry("$3")})
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
       WHERE NOT ${LIVE}
       RETURNING 1`,
      [key, owner, ttlMs],
    );
    return rows.length === 1;
  }

  async renewLock(key: string, owner: string, ttlMs: number): Promise<boolean> {
    const rows = await this.#query(
      `UPDATE state_kv SET expires_at = ${expiry("$3")} WHERE key = $1 AND value = $2 AND ${LIVE} RETURNING 1`,
      [key, owner, ttlMs],
    );
    return rows.length === 1;
  }

  async releaseLock(key: string, owner: string): Promise<boolean> {
    const rows = await this.#query(`DELETE FROM state_kv WHERE key = $1 AND value = $2 AND ${LIVE} RETURNING 1`, [
      key,
      owner,
    ]);
    return rows.length === 1;
  }

  async sweepExpired(limit: number): Promise<number> {
    const rows = await this.#query<{ n: string }>(
      `WITH gone AS (DELETE FROM state_kv WHERE key IN (SELECT key FROM state_kv WHERE expires_at <= now() LIMIT $1) RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [limit],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async ping(): Promise<void> {
    await this.#query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.pg.close();
  }

  #query<Row = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<Row[]> {
    this.#roundTrips++;
    return this.pg.query<Row>(sql, params);
  }
}
