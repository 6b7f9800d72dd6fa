import type { PgConnection } from "../pg/connection.ts";
import type { ArtifactRecord, MetadataStore, StoredRemote } from "./types.ts";

export class PostgresMetadataStore implements MetadataStore {
  readonly #pg: PgConnection;

  constructor(pg: PgConnection) {
    this.#pg = pg;
  }

  get queries(): number {
    return this.#pg.queries;
  }

  async listRemotes(): Promise<StoredRemote[]> {
    return this.#pg.query<StoredRemote>("SELECT name, config FROM remotes ORDER BY name");
  }

  async replaceRemotes(remotes: StoredRemote[]): Promise<void> {
    await this.#pg.transaction(async (tx) => {
      await tx.query("DELETE FROM remotes WHERE NOT (name = ANY($1::text[]))", [remotes.map((r) => r.name)]);
      for (const remote of remotes) {
        await tx.query(
          `INSERT INTO remotes (name, config, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_at = now()
           WHERE remotes.config IS DISTINCT FROM EXCLUDED.config`,
          [remote.name, JSON.stringify(remote.config)],
        );
      }
    });
  }

  async recordArtifact(record: ArtifactRecord): Promise<void> {
    await this.#pg.query(
      `INSERT INTO artifacts (remote, cache_key, path, sha256, size, content_type, fetched_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (remote, cache_key) DO UPDATE SET path = EXCLUDED.path, sha256 = EXCLUDED.sha256,
         size = EXCLUDED.size, content_type = EXCLUDED.content_type, fetched_at = EXCLUDED.fetched_at`,
      [record.remote, record.cacheKey, record.path, record.sha256, record.size, record.contentType, record.fetchedAt],
    );
  }

  async ping(): Promise<void> {
    await this.#pg.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.#pg.close();
  }
}
