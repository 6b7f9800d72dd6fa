import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const bin = new URL("../../cli/artifactapi.js", import.meta.url).pathname;

/** The `artifactapi` command (issue 5) as an operator runs it, against the proxy as `npm start` runs it. */
describe("artifactapi CLI", () => {
  const origin = new Origin();
  const admin = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const files = uniqueName("files");
  let stack: TestStack;

  /** Runs the command; resolves with its output and exit code whatever the code. */
  const cli = async (args: string[], token: string | null = admin) => {
    const env = { ...process.env, ARTIFACTAPI_ENDPOINT: stack.url, ARTIFACTAPI_TOKEN: token ?? "" };
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    origin.serve("/a.bin", randomBytes(4096)).serve("/b.txt", "bee").serve("/blocked/x", "no");
    await origin.start();
    stack = await startTestStack({
      remotes: { [files]: { base_url: origin.url, allow_private_network: true, blocklist: ["^blocked/"] } },
      env: { ADMIN_TOKEN: admin, READ_TOKEN: reader },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  it("applies a remotes file with a plan, and a second apply changes nothing", async () => {
    const extra = uniqueName("extra");
    const file = join(stack.dataDir, "desired.yaml");
    const remotes = {
      [files]: { base_url: origin.url, allow_private_network: true, blocklist: ["^blocked/"] },
      [extra]: { base_url: "https://downloads.example.org", auth: { type: "bearer", token: "upstream-secret" } },
    };
    await writeFile(file, stringify({ remotes }));

    const dry = await cli(["remotes", "apply", "-f", file, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`create\\s+remote\\s+${extra}`));
    expect(dry.stdout).toMatch(/1 to create, 0 to update, 0 to delete, 1 unchanged/);
    expect((await cli(["remotes", "get", extra])).code).toBe(4);

    const first = await cli(["remotes", "apply", "-f", file]);
    expect(first.stdout).toMatch(/1 to create/);
    expect(first.stdout).toMatch(/Applied/);
    const second = await cli(["remotes", "apply", "-f", file, "--json"]);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).changes.map((c: { action: string }) => c.action)).toEqual(["unchanged", "unchanged"]);

    const get = await cli(["remotes", "get", extra]);
    expect(get.stdout).toContain('"set": true');
    expect(get.stdout).not.toContain("upstream-secret");

    // Both sections: a virtual over a remote this same apply creates.
    const member = uniqueName("member");
    const virtual = uniqueName("virt");
    await writeFile(file, stringify({ remotes: { ...remotes, [member]: { base_url: "https://mirror.example.org" } }, virtuals: { [virtual]: { members: [files, member] } } }));
    const both = await cli(["remotes", "apply", "-f", file]);
    expect(both.stdout).toMatch(new RegExp(`create\\s+virtual\\s+${virtual}`));
    expect(JSON.parse((await cli(["remotes", "apply", "-f", file, "--json"])).stdout).changes.every((c: { action: string }) => c.action === "unchanged")).toBe(true);
    expect((await cli(["virtuals", "list"])).stdout).toMatch(new RegExp(`${virtual}\\s+generic\\s+${files}, ${member}`));
    expect(JSON.parse((await cli(["virtuals", "get", virtual, "--json"])).stdout)).toMatchObject({ name: virtual, members: [files, member] });
    const inUse = await cli(["remotes", "delete", member]);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain(`member of virtual '${virtual}'`);
    expect((await cli(["virtuals", "delete", virtual])).stdout).toContain(`deleted virtual ${virtual}`);

    await writeFile(file, stringify({ remotes: { [files]: remotes[files] } }));
    const removal = await cli(["remotes", "apply", "-f", file]);
    expect(removal.stdout).toMatch(new RegExp(`delete\\s+remote\\s+${extra}`));
    expect(removal.stdout).toMatch(new RegExp(`delete\\s+remote\\s+${member}`));
    expect((await cli(["remotes", "list"])).stdout).not.toContain(extra);
  });

  it("exits with codes scripts can trust", async () => {
    expect((await cli(["remotes", "list"], null)).code).toBe(3);
    expect((await cli(["remotes", "list"], "wrong")).code).toBe(3);
    expect((await cli(["remotes", "delete", files], reader)).code).toBe(3);
    expect((await cli(["remotes", "get", "no-such-remote"])).code).toBe(4);
    expect((await cli(["remotes", "frobnicate"])).code).toBe(2);
    expect((await cli(["objects", "evict", files])).code).toBe(2);
    const unreachable = await run(process.execPath, [bin, "--endpoint", "http://127.0.0.1:1", "health"]).catch((error) => error);
    expect(unreachable.code).toBe(5);
    const list = await cli(["remotes", "list"], reader);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+PACKAGE\s+BASE URL/);
    const anonymousHealth = await cli(["health"], null);
    expect(anonymousHealth.stdout).toMatch(/status: ok/);
    expect(anonymousHealth.stdout).not.toMatch(/\d ms/);
    // With the admin token: each backend's latency.
    expect((await cli(["health"])).stdout).toMatch(/metadata:postgres\s+up\s+[\d.]+ ms/);
  });

  it("prefetches, lists, evicts, probes and shows stats", async () => {
    const prefetch = await cli(["prefetch", files, "a.bin", "b.txt"]);
    expect(prefetch.code).toBe(0);
    expect(prefetch.stdout).toMatch(/2 ok, 0 failed/);
    expect((await cli(["prefetch", files, "missing.bin"])).code).toBe(1);

    await eventually(async () => expect((await cli(["objects", "ls", files])).stdout).toMatch(/a\.bin\s+4\.0 KiB/));
    const evicted = await cli(["objects", "evict", files, "--path", "b.txt"]);
    expect(evicted.stdout).toMatch(/evicted 1 object/);
    expect((await cli(["objects", "ls", files, "--json"])).stdout).not.toContain("b.txt");

    const denied = await cli(["probe", files, "blocked/x"]);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/classification\s+denied/);
    expect(denied.stdout).toMatch(/blocklist/);
    const probe = await cli(["probe", files, "a.bin", "--json"]);
    expect(JSON.parse(probe.stdout)).toMatchObject({ ok: true, size: 4096 });

    await (await fetch(`${stack.url}/api/v1/remote/${files}/a.bin`)).arrayBuffer();
    const stats = await cli(["stats", "--window", "1h"]);
    expect(stats.stdout).toMatch(new RegExp(`${files}\\s+\\d+\\s+[1-9]`));
    expect(stats.stdout).toMatch(/top artifacts/);
  });

  it("follows the event stream", async () => {
    const child = spawn(process.execPath, [bin, "events"], { env: { ...process.env, ARTIFACTAPI_ENDPOINT: stack.url, ARTIFACTAPI_TOKEN: reader } });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    try {
      // The stream shows only what happens after it connected, which a loaded machine may take a
      // while to do: fetch a new file until one of them appears.
      let attempt = 0;
      await eventually(async () => {
        const path = `c-${attempt++}.txt`;
        origin.serve(`/${path}`, "sea");
        await (await fetch(`${stack.url}/api/v1/remote/${files}/${path}`)).arrayBuffer();
        await sleep(500);
        expect(output).toMatch(new RegExp(`fetch\\.finished\\s+${files} path=c-\\d+\\.txt size=3`));
      }, 30_000);
    } finally {
      child.kill();
    }
  });

  it("shows a live dashboard in a terminal (tmux)", async () => {
    const socket = `artifactapi-test-${randomBytes(4).toString("hex")}`;
    const tmux = (...args: string[]) => run("tmux", ["-L", socket, ...args]);
    const screen = async () => (await tmux("capture-pane", "-p", "-t", "dash")).stdout;
    const command = `ARTIFACTAPI_ENDPOINT=${stack.url} ARTIFACTAPI_TOKEN=${reader} ${process.execPath} ${bin} tui; sleep 30`;
    await tmux("new-session", "-d", "-s", "dash", "-x", "150", "-y", "45", command);
    try {
      await eventually(async () => {
        const text = await screen();
        expect(text).toMatch(/artifactapi dashboard/);
        expect(text).toMatch(new RegExp(`${files}\\s+generic`));
        expect(text).toMatch(/HIT RATIO/);
      }, 20_000);
      origin.serve("/d.txt", "dee");
      await (await fetch(`${stack.url}/api/v1/remote/${files}/d.txt`)).arrayBuffer();
      await eventually(async () => expect(await screen()).toMatch(/fetch\.finished\s+\S+ path=d\.txt/), 15_000);
      await tmux("send-keys", "-t", "dash", "q");
      // After q the dashboard has left the alternate screen and the shell runs `sleep`.
      await eventually(async () => expect(await screen()).not.toMatch(/artifactapi dashboard/), 10_000);
    } finally {
      await tmux("kill-server").catch(() => {});
    }
  });
});
