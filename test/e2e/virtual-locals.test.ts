import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/http.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";
import { npm as cleanNpm, publishPackage, startVerdaccio, writePublisherNpmrc, type Verdaccio } from "../support/verdaccio.ts";

const run = promisify(execFile);

interface Lockfile {
  packages: Record<string, { version?: string; resolved?: string }>;
}

/**
 * The main use of a virtual: our own packages (an npm local) and the public ones (a verdaccio
 * remote) behind one registry URL. The public registry also has a package under our private
 * name, at a higher version (dependency confusion): npm must get ours. Publishing to the virtual
 * goes to its default_local; installs keep working with verdaccio stopped.
 */
describe("npm through a virtual over a local and a remote", () => {
  const writer = randomBytes(16).toString("hex");
  const local = uniqueName("team-npm");
  const remote = uniqueName("npmjs");
  const virtual = uniqueName("npm");
  const merging = uniqueName("npm-merged");
  let verdaccio: Verdaccio | null = null;
  let stack: TestStack;
  let work: string;

  const registry = (name = virtual) => `${stack.url}/api/v1/virtual/${name}/`;
  const npm = (cwd: string, args: string[], userconfig: string) => cleanNpm(cwd, args, { userconfig, globalconfig: join(work, "empty-npmrc") });
  const main = (text: string) => `module.exports = ${JSON.stringify(text)};\n`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-locals-"));
    await writeFile(join(work, "empty-npmrc"), "");
    verdaccio = await startVerdaccio(join(work, "verdaccio"));
    const publisherRc = join(work, "publisher-npmrc");
    await writePublisherNpmrc(verdaccio.url, publisherRc);
    const config = { userconfig: publisherRc, globalconfig: join(work, "empty-npmrc") };
    await publishPackage(verdaccio.url, join(work, "public", "left-pad"), { name: "demo-left-pad", version: "1.0.0", dependencies: {}, main: main("public left-pad") }, config);
    // The attacker's copy of our private name, at a version above ours.
    await publishPackage(verdaccio.url, join(work, "public", "secret"), { name: "@team/secret", version: "9.9.9", dependencies: {}, main: main("PUBLIC IMPOSTOR") }, config);
    stack = await startTestStack({
      remotes: {
        [local]: { type: "local", package: "npm", write_tokens: [`ci-bot:${writer}`] },
        [remote]: { base_url: verdaccio.url, package: "npm", allow_private_network: true },
      },
      virtuals: {
        // Long TTLs: a change that shows at once was not the TTL running out.
        [virtual]: { package: "npm", members: [local, remote], default_local: local, mutable_ttl: 3600 },
        [merging]: { package: "npm", members: [local, remote], merge_locals_with_remotes: true, mutable_ttl: 3600 },
      },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await verdaccio?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const install = async (round: string, dependencies: Record<string, string>) => {
    const project = join(work, `project-${round}`);
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: `app-${round}`, version: "1.0.0", private: true, dependencies }));
    const rc = join(project, ".npmrc-test");
    await writeFile(rc, "");
    await npm(project, ["install", "--registry", registry(), "--cache", join(work, `cache-${round}`), "--prefer-online"], rc);
    const required = async (name: string) => (await run(process.execPath, ["-e", `console.log(require(${JSON.stringify(name)}))`], { cwd: project })).stdout.trim();
    return { lock: JSON.parse(await readFile(join(project, "package-lock.json"), "utf8")) as Lockfile, required };
  };

  it("publishes through the virtual into its default_local with npm publish", async () => {
    const dir = join(work, "private", "secret");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "@team/secret", version: "1.0.0", main: "index.js" }));
    await writeFile(join(dir, "index.js"), main("our secret"));
    const rc = join(work, "writer-npmrc");
    await writeFile(rc, `${registry().replace(/^http:/, "")}:_authToken=${writer}\n`);
    // Before it is published the virtual shows the public 9.9.9 under that name: npm wants the tag named.
    await npm(dir, ["publish", "--registry", registry(), "--access", "restricted", "--tag", "latest"], rc);
    const packument = (await (await fetch(`${stack.url}/api/v1/local/${local}/@team%2fsecret`)).json()) as { versions: Record<string, unknown> };
    expect(Object.keys(packument.versions)).toEqual(["1.0.0"]);
  });

  it("installs the private package from the local, never the public one with a higher version, and public packages from the remote", async () => {
    const { lock, required } = await install("confusion", { "@team/secret": "*", "demo-left-pad": "1.0.0" });
    expect(await required("@team/secret")).toBe("our secret");
    expect(lock.packages["node_modules/@team/secret"]).toMatchObject({ version: "1.0.0", resolved: `${registry()}@team/secret/-/secret-1.0.0.tgz` });
    expect(await required("demo-left-pad")).toBe("public left-pad");
    const packument = (await (await fetch(`${registry()}@team%2fsecret`)).json()) as { versions: Record<string, unknown>; "dist-tags": Record<string, string> };
    expect(Object.keys(packument.versions)).toEqual(["1.0.0"]);
    expect(packument["dist-tags"].latest).toBe("1.0.0");
  });

  it("merges the remote's versions of a local name only with merge_locals_with_remotes: true", async () => {
    const packument = (await (await fetch(`${registry(merging)}@team%2fsecret`)).json()) as { versions: Record<string, unknown> };
    expect(Object.keys(packument.versions).sort()).toEqual(["1.0.0", "9.9.9"]);
  });

  it("shows a version published to the local's own URL through every virtual over it on the next request", async () => {
    const packumentVersions = async (name: string) => Object.keys(((await (await fetch(`${registry(name)}@team%2fsecret`)).json()) as { versions: Record<string, unknown> }).versions).sort();
    // Both virtuals hold a merged copy from before.
    expect(await packumentVersions(virtual)).toEqual(["1.0.0"]);
    expect(await packumentVersions(merging)).toEqual(["1.0.0", "9.9.9"]);
    const dir = join(work, "private", "secret-1.1.0");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "@team/secret", version: "1.1.0", main: "index.js" }));
    await writeFile(join(dir, "index.js"), main("our secret"));
    const localRegistry = `${stack.url}/api/v1/local/${local}/`;
    const rc = join(work, "local-writer-npmrc");
    await writeFile(rc, `${localRegistry.replace(/^http:/, "")}:_authToken=${writer}\n`);
    await npm(dir, ["publish", "--registry", localRegistry, "--access", "restricted"], rc);

    const { lock, required } = await install("published-to-local", { "@team/secret": "1.1.0" });
    expect(lock.packages["node_modules/@team/secret"]).toMatchObject({ version: "1.1.0", resolved: `${registry()}@team/secret/-/secret-1.1.0.tgz` });
    expect(await required("@team/secret")).toBe("our secret");
    expect(await packumentVersions(merging)).toEqual(["1.0.0", "1.1.0", "9.9.9"]);
  });

  it("installs again from a clean npm cache with verdaccio stopped", async () => {
    await verdaccio?.stop();
    await eventually(async () => {
      await expect(fetch(`${verdaccio!.url}/-/ping`)).rejects.toThrow();
    });
    const { required } = await install("offline", { "@team/secret": "*", "demo-left-pad": "1.0.0" });
    expect(await required("@team/secret")).toBe("our secret");
    expect(await required("demo-left-pad")).toBe("public left-pad");
  });
});
