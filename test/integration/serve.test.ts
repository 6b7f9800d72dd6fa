import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { freePort } from "../../infra/local/free-port.ts";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { LauncherRun, plainEnv } from "../support/launcher.ts";
import { loopbackName, type HostsEntry } from "../support/hosts-file.ts";
import { Origin } from "../support/origin.ts";
import { isRunning, processTree } from "../support/processes.ts";
import { eventually, json } from "../support/http.ts";
import { uniqueName } from "../support/stack.ts";

/**
 * `npm run serve`: the bundled Worker on workerd itself, no Miniflare, on real Postgres, Redis
 * (through the Upstash bridge) and an S3 API (the fauxqs emulator).
 */
describe("npm run serve", () => {
  const origin = new Origin();
  const body = "served by workerd itself\n".repeat(100);
  // Unique names: the machine's Redis is shared with other runs.
  const files = uniqueName("files");
  const inside = uniqueName("inside");
  let backends: ExternalBackends;
  let hosts: HostsEntry;
  let work: string;
  let port: number;
  let run: LauncherRun;
  const serveEnv = (): Record<string, string> => ({
    ...plainEnv(),
    ...backends.env,
    ADMIN_TOKEN: "serve-test-admin-token",
    PORT: String(port),
    ARTIFACTAPI_CONFIG: join(work, "remotes.yaml"),
    ARTIFACTAPI_DATA_DIR: join(work, "data"),
  });
  const url = (remote: string, path: string) => `http://127.0.0.1:${port}/api/v1/remote/${remote}/${path}`;

  beforeAll(async () => {
    origin.serve("/tool.bin", body).serve("/inside.txt", "a private address");
    await origin.start();
    backends = await startExternalBackends();
    hosts = await loopbackName();
    work = await mkdtemp(join(tmpdir(), "artifactapi-serve-"));
    await writeFile(
      join(work, "remotes.yaml"),
      stringify({
        remotes: {
          [files]: { base_url: origin.url, allow_private_network: true },
          // A public-looking name that resolves to loopback: the outbound guard must refuse it, as under npm start.
          [inside]: { base_url: `http://${hosts.name}:${origin.port}` },
        },
      }),
    );
    port = await freePort();
    run = LauncherRun.serve(serveEnv());
    await run.waitFor(/listening on/);
  });

  afterAll(async () => {
    await run?.stop();
    await backends?.stop();
    await hosts?.remove();
    await origin.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("runs workerd without Miniflare on Postgres, Redis and S3", () => {
    expect(run.output).toMatch(new RegExp(`listening on http://127\\.0\\.0\\.1:${port} \\(workerd \\d+, no Miniflare; metadata: postgres, state: redis, blobs: S3; 2 remotes\\)`));
    const workerd = Number(run.output.match(/\(workerd (\d+),/)![1]);
    expect(processTree(run.child.pid!)).toContain(workerd);
  });

  it("answers a miss from the remote, then a hit from S3 without asking the remote again", async () => {
    const miss = await fetch(url(files, "tool.bin"));
    expect(miss.status).toBe(200);
    expect(miss.headers.get("x-artifact-source")).toBe("remote");
    expect(await miss.text()).toBe(body);
    await eventually(async () => {
      const hit = await fetch(url(files, "tool.bin"));
      expect(hit.headers.get("x-artifact-source")).toBe("cache");
      expect(await hit.text()).toBe(body);
    });
    expect(origin.count("/tool.bin")).toBe(1);
  });

  it("keeps the outbound guard: a name that resolves to loopback is refused without allow_private_network", async () => {
    const refused = await fetch(url(inside, "inside.txt"));
    expect(refused.status).toBe(502);
    expect((await json(refused)).error.message).toMatch(new RegExp(`${hosts.name}.*outbound guard connects to public addresses only`));
    expect(origin.count("/inside.txt")).toBe(0);
  });

  it("stops everything on Ctrl-C, and after a restart the copy is a hit", async () => {
    const tree = processTree(run.child.pid!);
    // npm itself ends by the signal (no exit code); the launcher below it stops the rest.
    await run.stop();
    expect(run.output).toContain("stopping…");
    await eventually(async () => expect(tree.filter(isRunning)).toEqual([]), 5_000);

    run = LauncherRun.serve(serveEnv());
    await run.waitFor(/listening on/);
    const hit = await fetch(url(files, "tool.bin"));
    expect(hit.headers.get("x-artifact-source")).toBe("cache");
    expect(await hit.text()).toBe(body);
    expect(origin.count("/tool.bin")).toBe(1);
  });

  it("refuses to start without an S3 API, saying why", async () => {
    const { S3_ENDPOINT: _, ...withoutS3 } = serveEnv();
    const refused = LauncherRun.serve({ ...withoutS3, PORT: String(await freePort()) });
    expect(await refused.exited).toBe(1);
    expect(refused.output).toMatch(/npm run serve keeps blobs in an S3 API: set S3_ENDPOINT/);
    expect(refused.output).not.toMatch(/listening on/);
  });
});
