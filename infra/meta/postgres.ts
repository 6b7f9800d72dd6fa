import type { PgConnection } from "../pg/connection.ts";
import { prefixUpperBound } from "./bytewise.ts";
import { referencedBlobs } from "./postgres-locals.ts";
import type {
  ArtifactRecord,
  ArtifactRow,
  BrowseOptions,
  BrowseSort,
  ConfigKind,
  EvictionTarget,
  MetadataStore,
  NewEvent,
  OpenUpload,
  ServedThrough,
  StoredEvent,
  StoredRemote,
  UsageBatch,
  UsageBucket,
  UsageReport,
  UsageTotals,
} from "./types.ts";

const ARTIFACT_COLUMNS = "path, cache_key, sha256, size, content_type, fetched_at, last_access, hits";

/** The Browse sorts' key expressions (as migration 006 indexes them) and their cursor types; from this fixed map, never from input. */
const BROWSE_KEYS: Record<BrowseSort, { expression: string; type: string } | null> = {
  path: null,
  size: { expression: "size", type: "bigint" },
  hits: { expression: "hits", type: "bigint" },
  last_access: { expression: "coalesce(last_access, fetched_at)", type: "timestamptz" },
};

function toArtifactRow(row: Record<string, unknown>): ArtifactRow {
  return {
    path: String(row.path),
    cacheKey: String(row.cache_key),
    sha256: String(row.sha256),
    size: Number(row.size),
    contentType: String(row.content_type),
    fetchedAt: new Date(row.fetched_at as string),
    lastAccess: row.last_access === null ? null : new Date(row.last_access as string),
    hits: Number(row.hits),
  };
}

/** The sums of a usage query (bigint sums arrive as strings). */
/** A path's member over hourly rows: the latest hour's that names one (a virtual's member; null elsewhere). */
const LATEST_MEMBER = "(array_agg(member ORDER BY hour DESC) FILTER (WHERE member IS NOT NULL))[1]";

function toUsageTotals(row: Record<string, string>): UsageTotals {
  return {
    requests: Number(row.requests),
    hits: Number(row.hits),
    misses: Number(row.misses),
    errors: Number(row.errors),
    bytesServed: Number(row.bytes_served),
    bytesFetched: Number(row.bytes_fetched),
    uploads: Number(row.uploads ?? 0),
    bytesUploaded: Number(row.bytes_uploaded ?? 0),
  };
}

/** Table names come from this fixed map, never from input. */
const CONFIG_TABLES: Record<ConfigKind, string> = { remotes: "remotes", virtuals: "virtuals" };

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

  async applyRemotesFile(remotes: StoredRemote[], virtuals: StoredRemote[] = []): Promise<void> {
    await this.#pg.transaction(async (tx) => {
      // Virtuals first: one the file no longer names goes before the members it named.
      const kinds: [string, StoredRemote[]][] = [
        [CONFIG_TABLES.virtuals, virtuals],
        [CONFIG_TABLES.remotes, remotes],
      ];
      for (const [table, items] of kinds) {
        await tx.query(`DELETE FROM ${table} WHERE managed_by = 'file' AND NOT (name = ANY($1::text[]))`, [items.map((item) => item.name)]);
      }
      for (const [table, items] of kinds.reverse()) {
        for (const item of items) {
          await tx.query(
            `INSERT INTO ${table} (name, config, managed_by, updated_at) VALUES ($1, $2, 'file', now())
             ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, managed_by = 'file', updated_at = now()
             WHERE ${table}.config IS DISTINCT FROM EXCLUDED.config OR ${table}.managed_by <> 'file'`,
            [item.name, JSON.stringify(item.config)],
          );
        }
      }
    });
  }

  async listConfigs(kind: ConfigKind): Promise<StoredRemote[]> {
    return this.#pg.query<StoredRemote>(`SELECT name, config FROM ${CONFIG_TABLES[kind]} ORDER BY name`);
  }

  async getConfig(kind: ConfigKind, name: string): Promise<StoredRemote | null> {
    const rows = await this.#pg.query<StoredRemote>(`SELECT name, config FROM ${CONFIG_TABLES[kind]} WHERE name = $1`, [name]);
    return rows[0] ?? null;
  }

  async putConfig(kind: ConfigKind, item: StoredRemote): Promise<"created" | "updated" | "unchanged"> {
    const table = CONFIG_TABLES[kind];
    // xmax = 0 only for a freshly inserted row; no row at all means the WHERE found nothing to change.
    const rows = await this.#pg.query<{ inserted: boolean }>(
      `INSERT INTO ${table} (name, config, updated_at) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_at = now()
       WHERE ${table}.config IS DISTINCT FROM EXCLUDED.config
       RETURNING (xmax = 0) AS inserted`,
      [item.name, JSON.stringify(item.config)],
    );
    if (rows.length === 0) return "unchanged";
    return rows[0]!.inserted ? "created" : "updated";
  }

  async deleteConfig(kind: ConfigKind, name: string): Promise<boolean> {
    const rows = await this.#pg.query(`DELETE FROM ${CONFIG_TABLES[kind]} WHERE name = $1 RETURNING name`, [name]);
    return rows.length > 0;
  }

  async listArtifacts(remote: string, options: { prefix: string; after?: { path: string; cacheKey: string }; limit: number }): Promise<ArtifactRow[]> {
    const rows = await this.#pg.query<Record<string, unknown>>(
      `SELECT ${ARTIFACT_COLUMNS} FROM artifacts
       WHERE remote = $1 AND starts_with(path, $2) AND (path, cache_key) > ($3, $4)
       ORDER BY path, cache_key LIMIT $5`,
      [remote, options.prefix, options.after?.path ?? "", options.after?.cacheKey ?? "", options.limit],
    );
    return rows.map(toArtifactRow);
  }

  async browseArtifacts(remote: string, options: BrowseOptions): Promise<ArtifactRow[]> {
    const params: unknown[] = [remote, options.prefix];
    const where = ["remote = $1", "starts_with(path, $2)"];
    const upper = prefixUpperBound(options.prefix);
    if (options.prefix !== "") where.push(`path COLLATE "C" >= $2`);
    if (upper !== null) where.push(`path COLLATE "C" < $${params.push(upper)}`);
    const key = BROWSE_KEYS[options.sort];
    const columns = [...(key ? [key.expression] : []), `path COLLATE "C"`, "cache_key"];
    if (options.after) {
      const values = [...(key ? [`$${params.push(options.after.value)}::${key.type}`] : []), `$${params.push(options.after.path)}`, `$${params.push(options.after.cacheKey)}`];
      where.push(`(${columns.join(", ")}) ${options.descending ? "<" : ">"} (${values.join(", ")})`);
    }
    const direction = options.descending ? "DESC" : "ASC";
    const rows = await this.#pg.query<Record<string, unknown>>(
      `SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE ${where.join(" AND ")}
       ORDER BY ${columns.map((column) => `${column} ${direction}`).join(", ")} LIMIT $${params.push(options.limit)}`,
      params,
    );
    return rows.map(toArtifactRow);
  }

  async artifactFolders(remote: string, prefix: string, limit: number): Promise<string[]> {
    // A loose index scan: each step finds the next path with a "/" after the prefix, then jumps
    // past that whole folder (prefix + name + "0" is the first string after prefix + name + "/…").
    const next = (from: string) =>
      `SELECT split_part(substr(a.path, char_length($2) + 1), '/', 1) FROM artifacts a
       WHERE a.remote = $1 AND a.path COLLATE "C" >= ${from} AND starts_with(a.path, $2) AND strpos(substr(a.path, char_length($2) + 1), '/') > 0
       ORDER BY a.path COLLATE "C" LIMIT 1`;
    const rows = await this.#pg.query<{ name: string }>(
      `WITH RECURSIVE folders(name, depth) AS (
         SELECT (${next("$2")}), 1
         UNION ALL
         SELECT (${next("$2 || f.name || '0'")}), f.depth + 1 FROM folders f WHERE f.name IS NOT NULL AND f.depth < $3
       )
       SELECT name FROM folders WHERE name IS NOT NULL`,
      [remote, prefix, limit],
    );
    return rows.map((row) => row.name);
  }

  async getArtifact(remote: string, cacheKey: string): Promise<ArtifactRow | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts WHERE remote = $1 AND cache_key = $2`, [remote, cacheKey]);
    return rows[0] ? toArtifactRow(rows[0]) : null;
  }

  async deleteArtifacts(remote: string, target: EvictionTarget, limit: number): Promise<{ cacheKey: string; path: string; sha256: string }[]> {
    const [match, value] = "path" in target ? ["path = $2", target.path] : ["starts_with(path, $2)", target.prefix];
    const rows = await this.#pg.query<{ cache_key: string; path: string; sha256: string }>(
      `DELETE FROM artifacts WHERE remote = $1 AND cache_key IN
         (SELECT cache_key FROM artifacts WHERE remote = $1 AND ${match} LIMIT $3)
       RETURNING cache_key, path, sha256`,
      [remote, value, limit],
    );
    return rows.map((row) => ({ cacheKey: row.cache_key, path: row.path, sha256: row.sha256 }));
  }

  async referencedBlobs(sha256s: string[]): Promise<Set<string>> {
    return referencedBlobs(this.#pg, sha256s);
  }

  async storageByRemote(): Promise<{ remote: string; objects: number; bytes: number }[]> {
    const rows = await this.#pg.query<{ remote: string; objects: string; bytes: string }>(
      "SELECT remote, count(*) AS objects, coalesce(sum(size), 0) AS bytes FROM artifacts GROUP BY remote ORDER BY remote",
    );
    return rows.map((row) => ({ remote: row.remote, objects: Number(row.objects), bytes: Number(row.bytes) }));
  }

  async leastRecentlyUsed(remote: string, limit: number, before?: Date): Promise<{ path: string; size: number }[]> {
    const rows = await this.#pg.query<{ path: string; size: string }>(
      `SELECT path, size FROM artifacts WHERE remote = $1 AND ($2::timestamptz IS NULL OR coalesce(last_access, fetched_at) < $2)
       ORDER BY coalesce(last_access, fetched_at), path LIMIT $3`,
      [remote, before?.toISOString() ?? null, limit],
    );
    return rows.map((row) => ({ path: row.path, size: Number(row.size) }));
  }

  async addUsage(batch: UsageBatch): Promise<void> {
    const { remotes, artifacts } = batch;
    if (remotes.length > 0) {
      await this.#pg.query(
        `INSERT INTO usage_minutes AS u (remote, minute, requests, hits, misses, errors, bytes_served, bytes_fetched, uploads, bytes_uploaded)
         SELECT remote, minute, sum(requests), sum(hits), sum(misses), sum(errors), sum(bytes_served), sum(bytes_fetched), sum(uploads), sum(bytes_uploaded)
         FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
           AS v(remote, minute, requests, hits, misses, errors, bytes_served, bytes_fetched, uploads, bytes_uploaded)
         GROUP BY remote, minute
         ON CONFLICT (remote, minute) DO UPDATE SET requests = u.requests + EXCLUDED.requests, hits = u.hits + EXCLUDED.hits,
           misses = u.misses + EXCLUDED.misses, errors = u.errors + EXCLUDED.errors,
           bytes_served = u.bytes_served + EXCLUDED.bytes_served, bytes_fetched = u.bytes_fetched + EXCLUDED.bytes_fetched,
           uploads = u.uploads + EXCLUDED.uploads, bytes_uploaded = u.bytes_uploaded + EXCLUDED.bytes_uploaded`,
        [
          remotes.map((r) => r.remote),
          remotes.map((r) => r.minute.toISOString()),
          remotes.map((r) => r.requests),
          remotes.map((r) => r.hits),
          remotes.map((r) => r.misses),
          remotes.map((r) => r.errors),
          remotes.map((r) => r.bytesServed),
          remotes.map((r) => r.bytesFetched),
          remotes.map((r) => r.uploads),
          remotes.map((r) => r.bytesUploaded),
        ],
      );
    }
    if (artifacts.length > 0) {
      const columns = [
        artifacts.map((a) => a.remote),
        artifacts.map((a) => a.path),
        artifacts.map((a) => a.hour.toISOString()),
        artifacts.map((a) => a.requests),
        artifacts.map((a) => a.bytesServed),
        artifacts.map((a) => a.member ?? null),
      ];
      await this.#pg.query(
        `INSERT INTO artifact_usage_hours AS u (remote, path, hour, requests, bytes_served, member)
         SELECT remote, path, hour, sum(requests), sum(bytes_served), max(member)
         FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::text[]) AS v(remote, path, hour, requests, bytes_served, member)
         -- Cache keys that differ only by variant (Accept) share a path: one row per path and hour.
         GROUP BY remote, path, hour
         ON CONFLICT (remote, path, hour) DO UPDATE SET requests = u.requests + EXCLUDED.requests,
           bytes_served = u.bytes_served + EXCLUDED.bytes_served, member = coalesce(EXCLUDED.member, u.member)`,
        columns,
      );
      // A cached artifact's key, or a local file's path (a local's reads are reported with the path as key).
      await this.#pg.query(
        `WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[]) AS v(remote, cache_key, hits, last_access)),
         cached AS (
           UPDATE artifacts a SET hits = a.hits + v.hits, last_access = GREATEST(a.last_access, v.last_access)
           FROM v WHERE a.remote = v.remote AND a.cache_key = v.cache_key
         )
         UPDATE local_files f SET hits = f.hits + v.hits, last_access = GREATEST(f.last_access, v.last_access)
         FROM v WHERE f.local = v.remote AND f.path = v.cache_key`,
        [artifacts.map((a) => a.remote), artifacts.map((a) => a.cacheKey), artifacts.map((a) => a.hits), artifacts.map((a) => a.lastAccess.toISOString())],
      );
    }
  }

  async usageSince(since: Date, topLimit: number): Promise<UsageReport> {
    const totals = await this.#pg.query<Record<string, string>>(
      `SELECT remote, sum(requests) AS requests, sum(hits) AS hits, sum(misses) AS misses, sum(errors) AS errors,
         sum(bytes_served) AS bytes_served, sum(bytes_fetched) AS bytes_fetched, sum(uploads) AS uploads, sum(bytes_uploaded) AS bytes_uploaded
       FROM usage_minutes WHERE minute >= date_trunc('minute', $1::timestamptz) GROUP BY remote ORDER BY remote`,
      [since.toISOString()],
    );
    const top = await this.#pg.query<Record<string, string | null>>(
      `SELECT remote, path, sum(requests) AS requests, sum(bytes_served) AS bytes_served, ${LATEST_MEMBER} AS member
       FROM artifact_usage_hours WHERE hour >= date_trunc('hour', $1::timestamptz)
       GROUP BY remote, path ORDER BY sum(requests) DESC, remote, path LIMIT $2`,
      [since.toISOString(), topLimit],
    );
    const members = await this.#pg.query<Record<string, string>>(
      `SELECT remote, member, sum(requests) AS requests, sum(bytes_served) AS bytes_served
       FROM artifact_usage_hours WHERE hour >= date_trunc('hour', $1::timestamptz) AND member IS NOT NULL
       GROUP BY remote, member ORDER BY remote, member`,
      [since.toISOString()],
    );
    return {
      remotes: totals.map((row) => ({ remote: row.remote!, ...toUsageTotals(row) })),
      top: top.map((row) => ({ remote: row.remote!, path: row.path!, requests: Number(row.requests), bytesServed: Number(row.bytes_served), member: row.member ?? null })),
      members: members.map((row) => ({ remote: row.remote!, member: row.member!, requests: Number(row.requests), bytesServed: Number(row.bytes_served) })),
    };
  }

  async servedThrough(remote: string, since: Date, limit: number): Promise<ServedThrough[]> {
    const rows = await this.#pg.query<Record<string, string | null>>(
      `SELECT path, sum(requests) AS requests, sum(bytes_served) AS bytes_served, ${LATEST_MEMBER} AS member, max(hour) AS last_hour
       FROM artifact_usage_hours WHERE remote = $1 AND hour >= date_trunc('hour', $2::timestamptz)
       GROUP BY path ORDER BY sum(requests) DESC, path LIMIT $3`,
      [remote, since.toISOString(), limit],
    );
    return rows.map((row) => ({ path: row.path!, member: row.member ?? null, requests: Number(row.requests), bytesServed: Number(row.bytes_served), lastHour: new Date(row.last_hour!) }));
  }

  async retentionEvictionsSince(since: Date): Promise<Map<string, number>> {
    const rows = await this.#pg.query<{ remote: string; evicted: string }>(
      `SELECT remote, sum((data->>'evicted')::bigint) AS evicted FROM events
       WHERE type = 'eviction' AND data->>'reason' = 'retention' AND at >= $1 AND remote IS NOT NULL GROUP BY remote`,
      [since.toISOString()],
    );
    return new Map(rows.map((row) => [row.remote, Number(row.evicted)]));
  }

  async usageSeries(since: Date, bucketSeconds: number): Promise<UsageBucket[]> {
    const rows = await this.#pg.query<Record<string, string>>(
      `SELECT date_bin(make_interval(secs => $2), minute, 'epoch'::timestamptz) AS bucket, sum(requests) AS requests, sum(hits) AS hits,
         sum(misses) AS misses, sum(errors) AS errors, sum(bytes_served) AS bytes_served, sum(bytes_fetched) AS bytes_fetched,
         sum(uploads) AS uploads, sum(bytes_uploaded) AS bytes_uploaded
       FROM usage_minutes WHERE minute >= date_trunc('minute', $1::timestamptz) GROUP BY 1 ORDER BY 1`,
      [since.toISOString(), bucketSeconds],
    );
    return rows.map((row) => ({ bucket: new Date(row.bucket!), ...toUsageTotals(row) }));
  }

  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#pg.query(
      "INSERT INTO events (type, remote, data) SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])",
      [events.map((e) => e.type), events.map((e) => e.remote ?? null), events.map((e) => JSON.stringify(e.data))],
    );
  }

  async eventsAfter(afterId: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.#pg.query<{ id: string; at: string; type: string; remote: string | null; data: Record<string, unknown> }>(
      "SELECT id, at, type, remote, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
      [afterId, limit],
    );
    return rows.map((row) => ({ id: Number(row.id), at: new Date(row.at), type: row.type, remote: row.remote ?? undefined, data: row.data }));
  }

  async lastEventId(): Promise<number> {
    const rows = await this.#pg.query<{ id: string | null }>("SELECT max(id) AS id FROM events");
    return Number(rows[0]?.id ?? 0);
  }

  async prune(before: Date): Promise<void> {
    const at = before.toISOString();
    await this.#pg.query("DELETE FROM usage_minutes WHERE minute < $1", [at]);
    await this.#pg.query("DELETE FROM artifact_usage_hours WHERE hour < $1", [at]);
    await this.#pg.query("DELETE FROM events WHERE at < $1", [at]);
  }

  async recordArtifact(record: ArtifactRecord): Promise<void> {
    await this.#pg.query(
      `INSERT INTO artifacts (remote, cache_key, path, sha256, size, content_type, fetched_at, entry)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (remote, cache_key) DO UPDATE SET path = EXCLUDED.path, sha256 = EXCLUDED.sha256,
         size = EXCLUDED.size, content_type = EXCLUDED.content_type, fetched_at = EXCLUDED.fetched_at, entry = EXCLUDED.entry
       WHERE artifacts.fetched_at <= EXCLUDED.fetched_at`,
      [
        record.remote,
        record.cacheKey,
        record.path,
        record.sha256,
        record.size,
        record.contentType,
        record.fetchedAt,
        record.entry === undefined ? null : JSON.stringify(record.entry),
      ],
    );
  }

  async artifactEntry(remote: string, cacheKey: string): Promise<unknown> {
    const rows = await this.#pg.query<{ entry: unknown }>("SELECT entry FROM artifacts WHERE remote = $1 AND cache_key = $2", [remote, cacheKey]);
    return rows[0]?.entry ?? null;
  }

  async uploadStarted(key: string, uploadId: string): Promise<void> {
    await this.#pg.query(
      "INSERT INTO open_uploads (key, upload_id) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET upload_id = EXCLUDED.upload_id, started_at = now()",
      [key, uploadId],
    );
  }

  async uploadEnded(key: string): Promise<void> {
    await this.#pg.query("DELETE FROM open_uploads WHERE key = $1", [key]);
  }

  async openUploadsBefore(before: Date, limit: number): Promise<OpenUpload[]> {
    const rows = await this.#pg.query<{ key: string; upload_id: string; started_at: string }>(
      "SELECT key, upload_id, started_at FROM open_uploads WHERE started_at < $1 ORDER BY started_at LIMIT $2",
      [before.toISOString(), limit],
    );
    return rows.map((row) => ({ key: row.key, uploadId: row.upload_id, startedAt: new Date(row.started_at) }));
  }

  async ping(): Promise<void> {
    await this.#pg.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.#pg.close();
  }
}
