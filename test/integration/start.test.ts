import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { freePort } from "../../infra/local/free-port.ts";
import { eventually, json } from "../support/http.ts";
import { LauncherRun, plainEnv } from "../support/launcher.ts";
import { Origin } from "../support/origin.ts";
import { isRunning, listeningSockets, processTree } from "../support/processes.ts";

const refused = (host: string, port: number) =>
  new Promise<boolean>((resolvePromise) => {
    const socket = connect(port, host);
    socket.once("connect", () => (socket.destroy(), resolvePromise(false)));
    socket.once("error", () => resolvePromise(true));
  });

/**
 * `npm start` itself (infra/local/start.ts as a child process), not the test helper: the admin
 * token it generates, the variables it honours, what it prints (the Worker's console included),
 * that Ctrl-C leaves nothing running and the cache survives it, and a bad config refused.
 */
describe("npm start", () => {
  const origin = new Origin();
  const secrets = { api: `api-secret-${randomBytes(8).toString("hex")}`, row: `row-secret-${randomBytes(8).toString("hex")}` };
  let work: string;
  let run: LauncherRun;
  let port: number;
  let token: string;
  const startEnv = () => ({
    ...plainEnv(),
    HOST: "127.0.0.2",
    PORT: String(port),
    ARTIFACTAPI_CONFIG: join(work, "config/remotes.yaml"),
    ARTIFACTAPI_DATA_DIR: join(work, "data"),
  });

  beforeAll(async () => {
    origin.serve("/hello.txt", "hello from the file's remote").serve("/guarded.txt", "behind a token");
    await origin.start();
    work = await mkdtemp(join(tmpdir(), "artifactapi-start-"));
    await mkdir(join(work, "cwd"));
    await mkdir(join(work, "config"));
    await writeFile(join(work, "config/remotes.yaml"), stringify({ remotes: { files: { base_url: origin.url, allow_private_network: true } } }));
    port = await freePort();
    run = LauncherRun.start(join(work, "cwd"), startEnv());
    await run.waitFor(/listening on/);
    token = (await run.waitFor(/admin token \(printed once\): (\S+)/))[1]!;
  });

  afterAll(async () => {
    await run?.stop();
    await origin.stop();
    await rm(work, { recursive: true, force: true });
  });

  const base = () => `http://127.0.0.2:${port}`;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base()}/api/v2${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers } });

  it("generates an ADMIN_TOKEN, prints it once, and the management API takes it", async () => {
    expect(run.output.split(token).length - 1).toBe(1);
    const remotes = await api("/remotes");
    expect(remotes.status).toBe(200);
    expect((await json(remotes)).remotes.map((r: { name: string }) => r.name)).toEqual(["files"]);
    expect((await api("/remotes", { headers: { authorization: "Bearer not-the-token" } })).status).toBe(401);
  });

  it("listens on HOST:PORT, reads ARTIFACTAPI_CONFIG and keeps its data in ARTIFACTAPI_DATA_DIR", async () => {
    expect(run.output).toContain(`listening on http://127.0.0.2:${port} (metadata: embedded PGlite, state: postgres tables, blobs: local R2; 1 remotes)`);
    expect(await (await fetch(`${base()}/api/v1/remote/files/hello.txt`)).text()).toBe("hello from the file's remote");
    expect(await refused("127.0.0.1", port)).toBe(true);
    expect(await readdir(join(work, "data"))).toEqual(expect.arrayContaining(["build", "pglite", "worker"]));
    // Nothing in the working directory: no default .data/, no remotes.yaml looked up there.
    expect(await readdir(join(work, "cwd"))).toEqual([]);
  });

  it("keeps secrets out of everything it prints, the Worker's console included", async () => {
    const put = await api("/remotes/guarded", { method: "PUT", body: JSON.stringify({ base_url: origin.url, allow_private_network: true, auth: { type: "bearer", token: secrets.api } }) });
    expect(put.status).toBe(201);
    await eventually(async () => expect((await fetch(`${base()}/api/v1/remote/guarded/guarded.txt`)).status).toBe(200), 5_000);
    expect(origin.requests.find((r) => r.path === "/guarded.txt")?.headers.authorization).toBe(`Bearer ${secrets.api}`);

    // A stored remote that no longer parses (as an older build's row would) is skipped, and the
    // Worker says so on its console: a line about a config that holds a secret.
    await withEmbeddedPostgres(run.child.pid!, (db) =>
      db.query("INSERT INTO remotes (name, config) VALUES ($1, $2)", [
        "legacy",
        { base_url: "https://legacy.example.org", package: "no-such-type", auth: { type: "bearer", token: secrets.row } },
      ]),
    );
    await api("/remotes/bump", { method: "PUT", body: JSON.stringify({ base_url: "https://bump.example.org" }) }); // moves the config version
    await eventually(async () => {
      await (await fetch(`${base()}/`)).arrayBuffer();
      expect(run.output).toMatch(/remote 'legacy' skipped: .*\n.*remote 'legacy': key 'package': unknown package type/);
    }, 10_000);
    expect(run.output).toMatch(/artifactapi-edge listening on http/);
    expect(run.output).not.toContain(secrets.api);
    expect(run.output).not.toContain(secrets.row);
  });

  it("stops every process it started on Ctrl-C (SIGINT), and the cache survives it", async () => {
    const tree = processTree(run.child.pid!);
    const sockets = listeningSockets(tree);
    // The Worker's workerd below it; the proxy, PGlite's socket and the Postgres bridge listening.
    expect(tree.length).toBeGreaterThanOrEqual(2);
    expect(sockets).toContainEqual({ address: "127.0.0.2", port });
    expect(sockets.length).toBeGreaterThanOrEqual(3);

    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect(run.output).toContain("stopping…");
    await eventually(async () => expect(tree.filter(isRunning)).toEqual([]), 5_000);
    for (const { address, port } of sockets) {
      const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
      expect(await refused(host, port), `${host}:${port}`).toBe(true);
    }

    run = LauncherRun.start(join(work, "cwd"), { ...startEnv(), ADMIN_TOKEN: token });
    await run.waitFor(/listening on/);
    const again = await fetch(`${base()}/api/v1/remote/files/hello.txt`);
    expect(again.headers.get("x-artifact-source")).toBe("cache");
    expect(await again.text()).toBe("hello from the file's remote");
    expect(origin.count("/hello.txt")).toBe(1);
    expect(run.output).not.toMatch(/admin token/);
  });

  it("exits 1 listing every problem of a bad remotes file, and starts nothing", async () => {
    const config = join(work, "config/bad.yaml");
    await writeFile(config, stringify({ remotes: { broken: { base_url: "nope" }, odd: { base_url: "https://example.org", package: "no-such-type" } } }));
    const badPort = await freePort();
    const bad = LauncherRun.start(join(work, "cwd"), { ...plainEnv(), PORT: String(badPort), ARTIFACTAPI_CONFIG: config, ARTIFACTAPI_DATA_DIR: join(work, "bad-data") });
    expect(await bad.exited).toBe(1);
    expect(bad.output).toMatch(/remote 'broken': key 'base_url'/);
    expect(bad.output).toMatch(/remote 'odd': key 'package': unknown package type 'no-such-type'/);
    expect(bad.output).not.toMatch(/listening on/);
    expect(await refused("127.0.0.1", badPort)).toBe(true);
    expect(existsSync(join(work, "bad-data"))).toBe(false);
  });
});

/**
 * Runs `use` on the embedded Postgres (PGlite's socket) of a running `npm start`: the one port
 * of that process that speaks the Postgres protocol.
 */
async function withEmbeddedPostgres(pid: number, use: (db: pg.Client) => Promise<unknown>): Promise<void> {
  for (const { address, port } of listeningSockets([pid])) {
    const db = new pg.Client({ host: address, port, user: "postgres", password: "postgres", database: "postgres", connectionTimeoutMillis: 2_000 });
    try {
      await db.connect();
    } catch {
      continue; // the Postgres bridge or Miniflare's loopback server: HTTP, not Postgres
    }
    try {
      await use(db);
      return;
    } finally {
      await db.end();
    }
  }
  throw new Error(`no embedded Postgres among the ports of process ${pid}`);
}
