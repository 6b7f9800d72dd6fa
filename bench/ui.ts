/**
 * `npm run bench:ui`: the web UI's Browse page with 10,000 cached objects and with a local of
 * 10,000 uploaded files (server time per page, read from its Server-Timing header, over every
 * page of each sort, and the full-table scans Postgres counted meanwhile), and the overview's
 * page weight (HTML + CSS + JS, gzip and brotli). The proxy runs as `npm start` runs it, on a fresh database of the machine's Postgres.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliCompressSync, gzipSync } from "node:zlib";
import pg from "pg";
import { stringify } from "yaml";
import { startStack } from "../infra/local/stack.ts";
import { createDatabase } from "./backends.ts";
import { Cleanup } from "./processes.ts";
import { fmt, Table } from "./table.ts";

const OBJECTS = 10_000;
const REMOTE = "bench-npm";
const LOCAL = "bench-files";
const cleanup = new Cleanup();
process.on("SIGINT", () => void cleanup.unwind().then(() => process.exit(130)));

try {
  const database = await createDatabase(cleanup, "ui");
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-bench-ui-"));
  cleanup.defer("remove the data directory", () => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "remotes.yaml"), stringify({ remotes: { [REMOTE]: { base_url: "https://registry.npmjs.org", package: "npm" }, [LOCAL]: { type: "local", package: "generic" } } }));
  const token = randomBytes(16).toString("hex");
  const stack = await startStack({ port: 0, configPath: join(dir, "remotes.yaml"), dataDir: dir, env: { DATABASE_URL: database.url, ADMIN_TOKEN: token } });
  cleanup.defer("stop the proxy", () => stack.stop());

  const db = new pg.Client(database.url);
  await db.connect();
  cleanup.defer("close the database client", () => db.end());
  // npm-shaped paths: 200 packages of 50 versions, sizes, hits and last accesses spread out.
  await db.query(
    `INSERT INTO artifacts (remote, cache_key, path, sha256, size, content_type, fetched_at, hits, last_access)
     SELECT $1, p.path, p.path, md5(i::text) || md5((i + 1)::text), (i * 7919) % 5000000, 'application/octet-stream',
       now() - make_interval(secs => i * 60), (i * 31) % 1000, CASE WHEN i % 4 = 0 THEN NULL ELSE now() - make_interval(secs => (i * 17) % 86400) END
     FROM generate_series(1, $2::int) i, LATERAL (SELECT format('pkg-%s/-/pkg-%s-1.%s.0.tgz', i % 200, i % 200, i / 200) AS path) p`,
    [REMOTE, OBJECTS],
  );
  await db.query("ANALYZE artifacts");
  // A generic local's uploads: 100 folders of 100 files (rows only: listing pages read no bytes).
  await db.query(
    `INSERT INTO local_files (local, path, sha256, size, content_type, uploaded_by, uploaded_at)
     SELECT $1, format('build-%s/app-%s.tar.gz', i % 100, i), md5(i::text) || md5((i + 1)::text), (i * 7919) % 5000000,
       'application/gzip', 'ci', now() - make_interval(secs => i * 60)
     FROM generate_series(1, $2::int) i`,
    [LOCAL, OBJECTS],
  );
  await db.query("ANALYZE local_files");

  const cookie = await signIn(stack.url, token);
  const get = async (path: string) => {
    const started = performance.now();
    const response = await fetch(`${stack.url}${path}`, { headers: { cookie } });
    const html = await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    const server = Number(/page;dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "")?.[1]);
    return { html, server, wall: performance.now() - started };
  };

  const table = new Table(["pages", "median", "p95", "max", "wall median", "full-table scans"]);
  const crawl = async (label: string, first: string, scanned = "artifacts") => {
    const before = await seqScans(db, scanned);
    const server: number[] = [];
    const wall: number[] = [];
    let next: string | null = first;
    while (next) {
      const page = await get(next);
      server.push(page.server);
      wall.push(page.wall);
      const link = /<a href="([^"]+)" rel="next">/.exec(page.html)?.[1];
      next = link ? link.replace(/&amp;/g, "&") : null;
    }
    const cells = [String(server.length), ms(percentile(server, 0.5)), ms(percentile(server, 0.95)), ms(Math.max(...server)), ms(percentile(wall, 0.5)), String((await seqScans(db, scanned)) - before)];
    ["pages", "median", "p95", "max", "wall median", "full-table scans"].forEach((column, i) => table.set(`Browse ${label}`, "server time per page", column, cells[i]!));
  };
  await crawl("by path, root folder (with its 200 folders)", `/ui/browse/${REMOTE}`);
  await crawl("by size, largest first", `/ui/browse/${REMOTE}?sort=size`);
  await crawl("by last access, newest first", `/ui/browse/${REMOTE}?sort=last_access`);
  await crawl("by hits, most first", `/ui/browse/${REMOTE}?sort=hits`);
  await crawl("prefix pkg-1 (5,550 objects), by size", `/ui/browse/${REMOTE}?prefix=pkg-1&sort=size`);
  await crawl("folder pkg-42/-/ by path", `/ui/browse/${REMOTE}?prefix=pkg-42/-/`);
  await crawl("local: root folder (its 100 folders)", `/ui/browse/${LOCAL}`, "local_files");
  await crawl("local: folder build-42/ (100 files)", `/ui/browse/${LOCAL}?prefix=build-42/`, "local_files");
  await crawl("local: prefix build-4 (1,100 files)", `/ui/browse/${LOCAL}?prefix=build-4`, "local_files");
  console.log(table.render());

  const overview = await get("/ui/");
  const assets = [...overview.html.matchAll(/(?:href|src)="(\/ui\/assets\/[^"]+)"/g)].map((match) => match[1]!);
  const parts = [{ name: "overview HTML", body: overview.html }, ...(await Promise.all(assets.map(async (path) => ({ name: path, body: await (await fetch(`${stack.url}${path}`)).text() }))))];
  const weight = new Table(["raw", "gzip -9", "brotli"]);
  let total = [0, 0, 0];
  for (const part of parts) {
    const sizes = [Buffer.byteLength(part.body), gzipSync(part.body, { level: 9 }).length, brotliCompressSync(part.body).length];
    total = total.map((sum, i) => sum + sizes[i]!);
    ["raw", "gzip -9", "brotli"].forEach((column, i) => weight.set("overview page weight", part.name, column, kib(sizes[i]!)));
  }
  ["raw", "gzip -9", "brotli"].forEach((column, i) => weight.set("overview page weight", "total", column, kib(total[i]!)));
  console.log(`\n${weight.render()}`);
} finally {
  await cleanup.unwind();
}

async function signIn(base: string, token: string): Promise<string> {
  const form = await fetch(`${base}/ui/sign-in`);
  const nonce = form.headers.getSetCookie().map((line) => line.split(";")[0]!).join("; ");
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const response = await fetch(`${base}/ui/sign-in`, {
    method: "POST",
    headers: { cookie: nonce, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf: csrf, token, next: "/ui/" }),
    redirect: "manual",
  });
  const session = response.headers.getSetCookie().find((line) => line.startsWith("artifactapi_session="));
  if (!session) throw new Error(`sign-in failed: ${response.status}`);
  return session.split(";")[0]!;
}

/** Sequential scans of a table so far (pg_stat counts are flushed when a session ends or every few hundred ms). */
async function seqScans(db: pg.Client, table: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 700));
  const rows = await db.query<{ seq_scan: string }>("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = $1", [table]);
  return Number(rows.rows[0]?.seq_scan ?? 0);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function ms(value: number): string {
  return `${fmt(value)} ms`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
