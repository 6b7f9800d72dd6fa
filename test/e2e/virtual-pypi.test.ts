import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * pip through a virtual over two static PEP 503 trees (HTML only, as a plain web server serves
 * them): demo-app is only in the first, its dependency demo-lib only in the second; one index URL
 * installs both.
 */
describe("pip through a virtual over two static PEP 503 indexes", () => {
  const first = new Origin();
  const second = new Origin();
  const firstRemote = uniqueName("pypi-a");
  const secondRemote = uniqueName("pypi-b");
  const virtual = uniqueName("pypi-all");
  let work: string;
  let stack: TestStack;
  let wheel: Buffer;
  let sdist: Buffer;

  const simple = () => `${stack.url}/api/v1/virtual/${virtual}/simple/`;

  const pip = async (python: string, args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PIP_CONFIG_FILE: "/dev/null", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
    for (const variable of ["PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"]) delete env[variable];
    return run(python, ["-m", "pip", ...args, "--no-cache-dir", "--no-input", "--index-url", simple()], { env, timeout: 90_000 });
  };

  /** A static tree: the root page, one page per project, the files beside them (relative links, as `dir2pi` writes them). */
  const tree = (origin: Origin, projects: Record<string, { file: string; data: Buffer }>) => {
    const anchors = Object.keys(projects).map((name) => `<a href="${name}/">${name}</a>`);
    origin.serve("/simple/", { body: `<!DOCTYPE html><html><body>${anchors.join("\n")}</body></html>`, contentType: "text/html", noEtag: true });
    for (const [name, { file, data }] of Object.entries(projects)) {
      origin.serve(`/simple/${name}/`, { body: `<!DOCTYPE html><html><body><a href="../../packages/${file}#sha256=${sha256(data)}">${file}</a></body></html>`, contentType: "text/html", noEtag: true });
      origin.serve(`/packages/${file}`, data);
    }
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-pypi-"));
    await run("python3", [join(import.meta.dirname, "fixtures/build_python_packages.py"), work]);
    wheel = await readFile(join(work, "demo_lib-1.0.0-py3-none-any.whl"));
    sdist = await readFile(join(work, "demo_app-2.0.0.tar.gz"));
    tree(first, { "demo-app": { file: "demo_app-2.0.0.tar.gz", data: sdist } });
    tree(second, { "demo-lib": { file: "demo_lib-1.0.0-py3-none-any.whl", data: wheel } });
    await first.start();
    await second.start();
    const member = (origin: Origin) => ({ base_url: origin.url, package: "pypi", allow_private_network: true });
    stack = await startTestStack({
      remotes: { [firstRemote]: member(first), [secondRemote]: member(second) },
      virtuals: { [virtual]: { package: "pypi", members: [firstRemote, secondRemote] } },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await first.stop();
    await second.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("pip download and pip install resolve a package from one member and its dependency from the other", async () => {
    const downloads = join(work, "download");
    await pip("python3", ["download", "--dest", downloads, "demo-app"]);
    expect((await readdir(downloads)).sort()).toEqual(["demo_app-2.0.0.tar.gz", "demo_lib-1.0.0-py3-none-any.whl"]);
    expect(sha256(await readFile(join(downloads, "demo_lib-1.0.0-py3-none-any.whl")))).toBe(sha256(wheel));
    const venv = join(work, "venv");
    await run("python3", ["-m", "venv", venv], { timeout: 60_000 });
    const python = join(venv, "bin/python");
    await pip(python, ["install", "demo-app"]);
    const { stdout } = await run(python, ["-c", "import demo_app, demo_lib; print(demo_app.VALUE, '|', demo_lib.VALUE)"]);
    expect(stdout.trim()).toBe("demo-app 2.0.0 | demo-lib 1.0.0");
    // Each file was fetched from its own tree once, whatever pip asked twice.
    expect(first.count("/packages/demo_app-2.0.0.tar.gz")).toBe(1);
    expect(second.count("/packages/demo_lib-1.0.0-py3-none-any.whl")).toBe(1);
  });

  it("merges the root index of both trees and answers PEP 691 JSON from HTML members, #sha256 kept", async () => {
    const root = await (await fetch(simple())).text();
    expect(root).toContain("demo-app");
    expect(root).toContain("demo-lib");
    const page = await fetch(`${simple()}demo-lib/`, { headers: { accept: "application/vnd.pypi.simple.v1+json" } });
    expect(page.headers.get("content-type")).toMatch(/application\/vnd\.pypi\.simple\.v1\+json/);
    const json = (await page.json()) as { files: { filename: string; url: string; hashes: Record<string, string> }[] };
    expect(json.files).toEqual([expect.objectContaining({ filename: "demo_lib-1.0.0-py3-none-any.whl", hashes: { sha256: sha256(wheel) } })]);
    expect(json.files[0]!.url.startsWith(simple().replace(/simple\/$/, ""))).toBe(true);
  });
});
