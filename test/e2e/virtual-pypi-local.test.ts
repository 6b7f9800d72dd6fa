import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256 } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);

/**
 * pip through a virtual over a PyPI local and a static PEP 503 index that also has the local's
 * project, at a higher version (dependency confusion): twine uploads through the virtual into
 * its default_local, and pip gets the private file, even though the virtual had merged the
 * project's page from the public index alone before.
 */
describe("pip through a virtual over a local and a static index", () => {
  const index = new Origin();
  const writer = randomBytes(16).toString("hex");
  const local = uniqueName("team-pypi");
  const remote = uniqueName("pypi-public");
  const virtual = uniqueName("pypi");
  let work: string;
  let stack: TestStack;
  let wheel: Buffer;

  const base = () => `${stack.url}/api/v1/virtual/${virtual}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-pypi-local-"));
    await run("python3", [join(import.meta.dirname, "fixtures/build_python_packages.py"), work]);
    wheel = await readFile(join(work, "demo_lib-1.0.0-py3-none-any.whl"));
    // The public impostor: a higher version of the private project's name.
    const impostor = "demo_lib-9.9.9-py3-none-any.whl";
    await copyFile(join(work, "demo_lib-1.0.0-py3-none-any.whl"), join(work, impostor));
    index.serve("/simple/demo-lib/", { body: `<html><body><a href="/packages/${impostor}#sha256=${sha256(wheel)}">${impostor}</a></body></html>`, contentType: "text/html" });
    index.serve(`/packages/${impostor}`, wheel);
    await index.start();
    stack = await startTestStack({
      remotes: {
        [local]: { type: "local", package: "pypi", write_tokens: [`ci-bot:${writer}`] },
        [remote]: { base_url: index.url, package: "pypi", allow_private_network: true },
      },
      virtuals: { [virtual]: { package: "pypi", members: [local, remote], default_local: local } },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await index.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("uploads with twine through the virtual, and pip downloads the private version, not the public higher one", async () => {
    // Merged before the upload, from the public index alone, and kept for the virtual's mutable_ttl: the upload must replace it at once.
    expect(await (await fetch(`${base()}/simple/demo-lib/`)).text()).toContain("9.9.9");
    await run("twine", ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", `${base()}/`, "-u", "__token__", "-p", writer, join(work, "demo_lib-1.0.0-py3-none-any.whl")], {
      env: { ...process.env, PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", TWINE_USERNAME: "", TWINE_PASSWORD: "" },
      timeout: 60_000,
    });
    const env: NodeJS.ProcessEnv = { ...process.env, PIP_CONFIG_FILE: "/dev/null", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
    for (const variable of ["PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"]) delete env[variable];
    const downloads = join(work, "download");
    await run("python3", ["-m", "pip", "download", "--no-deps", "--dest", downloads, "--no-cache-dir", "--no-input", "--index-url", `${base()}/simple/`, "demo-lib"], { env, timeout: 90_000 });
    expect(await readdir(downloads)).toEqual(["demo_lib-1.0.0-py3-none-any.whl"]);
    const page = await (await fetch(`${base()}/simple/demo-lib/`)).text();
    expect(page).not.toContain("9.9.9");
    expect(index.count("/packages/demo_lib-9.9.9-py3-none-any.whl")).toBe(0);
  });
});
