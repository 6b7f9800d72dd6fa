import type { PgConnection } from "../pg/connection.ts";
import { prefixUpperBound } from "./bytewise.ts";
import type {
  BlobLockedStore,
  FolderEntry,
  Json,
  LocalFile,
  LocalFileUsage,
  PackageRecord,
  LocalStore,
  VersionRecord,
  NewLocalFile,
  NewVersion,
  PackageState,
  UploadChunk,
  UploadSession,
} from "./local-store.ts";

const SESSION_COLUMNS = "local, id, repository, started_by, chunks, size, started_at, updated_at";
const FILE_COLUMNS = "local, path, sha256, size, content_type, uploaded_by, uploaded_at, package, version, metadata";

/**
 * The sha256s some row still refers to: a cached artifact or a local's file. A blob is deleted
 * only when neither does (identical bytes are one blob).
 */
export async function referencedBlobs(pg: PgConnection, sha256s: string[]): Promise<Set<string>> {
  if (sha256s.length === 0) return new Set();
  const rows = await pg.query<{ sha256: string }>(
    `SELECT sha256 FROM artifacts WHERE sha256 = ANY($1::text[])
     UNION SELECT sha256 FROM local_files WHERE sha256 = ANY($1::text[])`,
    [sha256s],
  );
  return new Set(rows.map((row) => row.sha256));
}

/** LocalStore on Postgres (Neon in production; Postgres or PGlite locally). */
export class PostgresLocalStore implements LocalStore {
  readonly #pg: PgConnection;
  readonly #locked: BlobLockedStore;

  constructor(pg: PgConnection) {
    this.#pg = pg;
    this.#locked = {
      insertLocalFile: (file, options) => this.#insertFile(file, options),
      publishVersion: (version) => this.#publishVersion(version),
      referencedBlobs: (sha256s) => referencedBlobs(this.#pg, sha256s),
    };
  }

  async getLocalFile(local: string, path: string): Promise<LocalFile | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(`SELECT ${FILE_COLUMNS} FROM local_files WHERE local = $1 AND path = $2`, [local, path]);
    return rows[0] ? fileFromRow(rows[0]) : null;
  }

  async listLocalFiles(local: string, options: { prefix: string; after?: string; limit: number }): Promise<LocalFileUsage[]> {
    // A range of the bytewise index (migration 010), not a filter over every file of the local.
    const params: unknown[] = [local, options.prefix, options.after ?? "", options.limit];
    const upper = prefixUpperBound(options.prefix);
    const below = upper === null ? "" : `AND path COLLATE "C" < $${params.push(upper)}`;
    const rows = await this.#pg.query<Record<string, unknown>>(
      `SELECT ${FILE_COLUMNS}, hits, last_access FROM local_files
       WHERE local = $1 AND starts_with(path, $2) AND path COLLATE "C" >= $2 ${below} AND path COLLATE "C" > $3
       ORDER BY path COLLATE "C" LIMIT $4`,
      params,
    );
    return rows.map((row) => ({ ...fileFromRow(row), hits: Number(row.hits), lastAccess: row.last_access ? new Date(row.last_access as string) : null }));
  }

  async filesByLocal(): Promise<{ local: string; files: number; bytes: number }[]> {
    const rows = await this.#pg.query<{ local: string; files: string; bytes: string }>(
      "SELECT local, count(*) AS files, coalesce(sum(size), 0) AS bytes FROM local_files GROUP BY local ORDER BY local",
    );
    return rows.map((row) => ({ local: row.local, files: Number(row.files), bytes: Number(row.bytes) }));
  }

  async listLocalFolder(local: string, folder: string, options: { after?: string; limit: number }): Promise<FolderEntry[]> {
    // A loose index scan of (local, path COLLATE "C") (migration 010): each step is one index probe
    // for the first path at or past a bound, and one entry. A file's next bound is its path + chr(1)
    // (the first string after it); a sub-folder's is folder + name + "0" ("0" follows "/"), past
    // everything in it. A page costs `limit` probes however many files lie below the folder.
    const boundAfter = (name: string) => (name.endsWith("/") ? `${folder}${name.slice(0, -1)}0` : `${folder}${name}\u0001`);
    const params: unknown[] = [local, folder, options.after === undefined ? folder : boundAfter(options.after), options.limit];
    const inFolder = folder === "" ? "" : `AND path COLLATE "C" < $${params.push(`${folder.slice(0, -1)}0`)}`;
    const first = (bound: string) => `(SELECT path FROM local_files WHERE local = $1 AND path COLLATE "C" >= ${bound} ${inFolder} ORDER BY path COLLATE "C" LIMIT 1)`;
    const rest = "substr(w.path, char_length($2::text) + 1)";
    const rows = await this.#pg.query<Record<string, unknown>>(
      `WITH RECURSIVE walk(n, path) AS (
         SELECT 1, ${first("$3::text")}
         UNION ALL
         SELECT w.n + 1, ${first(`(CASE WHEN strpos(${rest}, '/') > 0 THEN $2::text || split_part(${rest}, '/', 1) || '0' ELSE w.path || chr(1) END)`)}
         FROM walk w WHERE w.path IS NOT NULL AND w.n < $4::int
       )
       SELECT f.* FROM walk w, LATERAL (SELECT ${FILE_COLUMNS} FROM local_files WHERE local = $1 AND path = w.path LIMIT 1) f ORDER BY w.n`,
      params,
    );
    return rows.map((row) => {
      const below = String(row.path).slice(folder.length);
      const slash = below.indexOf("/");
      return slash >= 0 ? { kind: "folder", name: below.slice(0, slash + 1) } : { kind: "file", name: below, file: fileFromRow(row) };
    });
  }

  async deleteLocalFile(local: string, path: string): Promise<LocalFile | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(`DELETE FROM local_files WHERE local = $1 AND path = $2 RETURNING ${FILE_COLUMNS}`, [local, path]);
    return rows[0] ? fileFromRow(rows[0]) : null;
  }

  async withBlobLocks<T>(sha256s: string[], work: (locked: BlobLockedStore) => Promise<T>): Promise<T> {
    return this.#pg.transaction(async (tx) => {
      // In a fixed order, so two transactions locking overlapping sets cannot deadlock.
      await tx.query(
        `SELECT pg_advisory_xact_lock(hashtextextended(sha256, 0)) FROM (SELECT DISTINCT sha256 FROM unnest($1::text[]) AS s(sha256) ORDER BY sha256) ordered`,
        [sha256s],
      );
      return work(this.#locked);
    });
  }

  async readPackage(local: string, name: string): Promise<PackageState | null> {
    // One round trip: an index is rebuilt from this whenever its cached copy is gone.
    const rows = await this.#pg.query<Record<string, unknown>>(
      `SELECT p.local, p.name, p.display_name, p.metadata, p.revision, p.created_at, p.updated_at,
         (SELECT coalesce(json_agg(v ORDER BY v.published_at, v.version), '[]'::json) FROM local_versions v
           WHERE v.local = p.local AND v.package = p.name) AS versions,
         (SELECT coalesce(json_object_agg(t.tag, t.version), '{}'::json) FROM local_tags t
           WHERE t.local = p.local AND t.package = p.name) AS tags,
         (SELECT coalesce(json_agg(f ORDER BY f.path), '[]'::json) FROM (SELECT ${FILE_COLUMNS} FROM local_files
           WHERE local = p.local AND package = p.name) f) AS files
       FROM local_packages p WHERE p.local = $1 AND p.name = $2`,
      [local, name],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      package: packageFromRow(row),
      versions: (row.versions as Record<string, unknown>[]).map(versionFromRow),
      tags: row.tags as Record<string, string>,
      files: (row.files as Record<string, unknown>[]).map(fileFromRow),
    };
  }

  async listPackages(local: string): Promise<PackageRecord[]> {
    const rows = await this.#pg.query<Record<string, unknown>>(
      `SELECT local, name, display_name, metadata, revision, created_at, updated_at FROM local_packages p
       WHERE local = $1 AND EXISTS (SELECT 1 FROM local_versions v WHERE v.local = p.local AND v.package = p.name AND v.deleted_at IS NULL)
       ORDER BY name`,
      [local],
    );
    return rows.map(packageFromRow);
  }

  async setTag(local: string, packageName: string, tag: string, version: string): Promise<boolean> {
    return this.#changePackage(
      `INSERT INTO local_tags (local, package, tag, version)
       SELECT $1, $2, $3, $4 WHERE EXISTS
         (SELECT 1 FROM local_versions WHERE local = $1 AND package = $2 AND version = $4 AND deleted_at IS NULL)
       ON CONFLICT (local, package, tag) DO UPDATE SET version = EXCLUDED.version, updated_at = now() RETURNING tag`,
      [local, packageName, tag, version],
    );
  }

  async deleteTag(local: string, packageName: string, tag: string): Promise<boolean> {
    return this.#changePackage("DELETE FROM local_tags WHERE local = $1 AND package = $2 AND tag = $3 RETURNING tag", [local, packageName, tag]);
  }

  async setVersionMetadata(local: string, packageName: string, version: string, metadata: Json): Promise<boolean> {
    return this.#changePackage(
      `UPDATE local_versions SET metadata = $4 WHERE local = $1 AND package = $2 AND version = $3 AND deleted_at IS NULL RETURNING version`,
      [local, packageName, version, JSON.stringify(metadata)],
    );
  }

  async unpublishVersion(local: string, packageName: string, version: string): Promise<LocalFile[] | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(
      `WITH gone AS (
         UPDATE local_versions SET deleted_at = now() WHERE local = $1 AND package = $2 AND version = $3 AND deleted_at IS NULL RETURNING version
       ), untagged AS (
         DELETE FROM local_tags WHERE local = $1 AND package = $2 AND version IN (SELECT version FROM gone)
       ), bumped AS (
         UPDATE local_packages SET revision = revision + 1, updated_at = now() WHERE local = $1 AND name = $2 AND EXISTS (SELECT 1 FROM gone)
       ), files AS (
         DELETE FROM local_files WHERE local = $1 AND package = $2 AND version IN (SELECT version FROM gone) RETURNING ${FILE_COLUMNS}
       )
       SELECT files.* FROM gone LEFT JOIN files ON true`,
      [local, packageName, version],
    );
    if (rows.length === 0) return null;
    return rows.filter((row) => row.path !== null).map(fileFromRow);
  }

  async startUploadSession(session: Pick<UploadSession, "local" | "id" | "repository" | "startedBy">): Promise<UploadSession> {
    const rows = await this.#pg.query<Record<string, unknown>>(
      `INSERT INTO local_upload_sessions (local, id, repository, started_by) VALUES ($1, $2, $3, $4) RETURNING ${SESSION_COLUMNS}`,
      [session.local, session.id, session.repository, session.startedBy],
    );
    return sessionFromRow(rows[0]!);
  }

  async getUploadSession(local: string, id: string): Promise<UploadSession | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(`SELECT ${SESSION_COLUMNS} FROM local_upload_sessions WHERE local = $1 AND id = $2`, [local, id]);
    return rows[0] ? sessionFromRow(rows[0]) : null;
  }

  async appendUploadChunk(local: string, id: string, offset: number, chunk: UploadChunk): Promise<UploadSession | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(
      `UPDATE local_upload_sessions SET chunks = chunks || jsonb_build_array($4::jsonb), size = size + $5, updated_at = now()
       WHERE local = $1 AND id = $2 AND size = $3 RETURNING ${SESSION_COLUMNS}`,
      [local, id, offset, JSON.stringify(chunk), chunk.size],
    );
    return rows[0] ? sessionFromRow(rows[0]) : null;
  }

  async endUploadSession(local: string, id: string): Promise<UploadSession | null> {
    const rows = await this.#pg.query<Record<string, unknown>>(`DELETE FROM local_upload_sessions WHERE local = $1 AND id = $2 RETURNING ${SESSION_COLUMNS}`, [local, id]);
    return rows[0] ? sessionFromRow(rows[0]) : null;
  }

  async sweepUploadSessions(before: Date): Promise<number> {
    const rows = await this.#pg.query("DELETE FROM local_upload_sessions WHERE updated_at < $1 RETURNING id", [before.toISOString()]);
    return rows.length;
  }

  /** One statement that changes a package's versions or tags (RETURNING a row when it did), and the revision bump with it. */
  async #changePackage(change: string, params: unknown[]): Promise<boolean> {
    const rows = await this.#pg.query(
      `WITH changed AS (${change})
       UPDATE local_packages SET revision = revision + 1, updated_at = now()
       WHERE local = $1 AND name = $2 AND EXISTS (SELECT 1 FROM changed) RETURNING revision`,
      params,
    );
    return rows.length > 0;
  }

  async #insertFile(file: NewLocalFile, options: { replace: boolean }): Promise<{ stored: LocalFile | null; previous: LocalFile | null }> {
    // Writers of one path take turns (until the caller's transaction ends), so `previous` is
    // exactly the row this write replaces or keeps.
    await this.#pg.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))", [`${file.local}/${file.path}`]);
    const previous = await this.getLocalFile(file.local, file.path);
    if (previous && !options.replace) return { stored: null, previous };
    const rows = await this.#pg.query<Record<string, unknown>>(
      `INSERT INTO local_files (local, path, sha256, size, content_type, uploaded_by, package, version, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (local, path) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, content_type = EXCLUDED.content_type,
         uploaded_by = EXCLUDED.uploaded_by, uploaded_at = now(), package = EXCLUDED.package, version = EXCLUDED.version,
         metadata = EXCLUDED.metadata, hits = 0, last_access = NULL
       RETURNING ${FILE_COLUMNS}`,
      fileParams(file),
    );
    return { stored: fileFromRow(rows[0]!), previous };
  }

  async #publishVersion(version: NewVersion): Promise<{ result: "published"; revision: number } | { result: "exists" }> {
    const { local } = version;
    const name = version.package.name;
    // A savepoint, so that "exists" undoes this publish without ending the caller's transaction.
    await this.#pg.query("SAVEPOINT publish_version");
    try {
      await this.#pg.query(
        `INSERT INTO local_packages (local, name, display_name, revision) VALUES ($1, $2, $3, 0) ON CONFLICT (local, name) DO NOTHING`,
        [local, name, version.package.displayName],
      );
      const inserted = await this.#pg.query(
        `INSERT INTO local_versions (local, package, version, metadata, published_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (local, package, version) DO UPDATE SET metadata = EXCLUDED.metadata, published_by = EXCLUDED.published_by,
           published_at = now(), deleted_at = NULL
         WHERE local_versions.deleted_at IS NOT NULL AND $6
         RETURNING version`,
        [local, name, version.version, JSON.stringify(version.metadata), version.publishedBy, version.republish ?? false],
      );
      if (inserted.length === 0) return await this.#undoPublish();
      for (const file of version.files) {
        const stored = await this.#pg.query(
          `INSERT INTO local_files (local, path, sha256, size, content_type, uploaded_by, package, version, metadata)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (local, path) DO NOTHING RETURNING path`,
          fileParams({ ...file, package: name, version: version.version }),
        );
        if (stored.length === 0) return await this.#undoPublish();
      }
      for (const [tag, target] of Object.entries(version.tags ?? {})) {
        await this.#pg.query(
          `INSERT INTO local_tags (local, package, tag, version) VALUES ($1, $2, $3, $4)
           ON CONFLICT (local, package, tag) DO UPDATE SET version = EXCLUDED.version, updated_at = now()`,
          [local, name, tag, target],
        );
      }
      const [bumped] = await this.#pg.query<{ revision: string }>(
        `UPDATE local_packages SET revision = revision + 1, updated_at = now(), metadata = metadata || $3 WHERE local = $1 AND name = $2 RETURNING revision`,
        [local, name, JSON.stringify(version.package.metadata ?? {})],
      );
      await this.#pg.query("RELEASE SAVEPOINT publish_version");
      return { result: "published", revision: Number(bumped!.revision) };
    } catch (error) {
      await this.#pg.query("ROLLBACK TO SAVEPOINT publish_version").catch(() => {});
      throw error;
    }
  }

  async #undoPublish(): Promise<{ result: "exists" }> {
    await this.#pg.query("ROLLBACK TO SAVEPOINT publish_version");
    return { result: "exists" };
  }
}

function fileParams(file: NewLocalFile): unknown[] {
  return [file.local, file.path, file.sha256, file.size, file.contentType, file.uploadedBy, file.package ?? null, file.version ?? null, JSON.stringify(file.metadata ?? {})];
}

/** From a query row or a json_agg element (numbers and dates arrive as strings or as values). */
function fileFromRow(row: Record<string, unknown>): LocalFile {
  return {
    local: String(row.local),
    path: String(row.path),
    sha256: String(row.sha256),
    size: Number(row.size),
    contentType: String(row.content_type),
    uploadedBy: String(row.uploaded_by),
    uploadedAt: new Date(row.uploaded_at as string),
    package: (row.package as string | null) ?? null,
    version: (row.version as string | null) ?? null,
    metadata: (row.metadata as Json | null) ?? {},
  };
}

function packageFromRow(row: Record<string, unknown>): PackageRecord {
  return {
    local: String(row.local),
    name: String(row.name),
    displayName: String(row.display_name),
    metadata: (row.metadata as Json | null) ?? {},
    revision: Number(row.revision),
    createdAt: new Date(row.created_at as string),
    updatedAt: new Date(row.updated_at as string),
  };
}

function versionFromRow(row: Record<string, unknown>): VersionRecord {
  return {
    version: String(row.version),
    metadata: (row.metadata as Json | null) ?? {},
    publishedBy: String(row.published_by),
    publishedAt: new Date(row.published_at as string),
    deletedAt: row.deleted_at ? new Date(row.deleted_at as string) : null,
  };
}

function sessionFromRow(row: Record<string, unknown>): UploadSession {
  return {
    local: String(row.local),
    id: String(row.id),
    repository: String(row.repository),
    startedBy: String(row.started_by),
    chunks: (row.chunks as UploadChunk[]).map((chunk) => ({ key: chunk.key, sha256: chunk.sha256, size: Number(chunk.size) })),
    size: Number(row.size),
    startedAt: new Date(row.started_at as string),
    updatedAt: new Date(row.updated_at as string),
  };
}
