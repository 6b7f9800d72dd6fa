import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json } from "../support/http.ts";
import { OciLayout } from "../support/oci-layout.ts";
import { skopeo } from "../support/registry.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const MiB = 1024 * 1024;

/**
 * Docker locals (issue 11) end to end: skopeo pushes an image (several layers, one over 64 MiB)
 * and a multi-arch index to the proxy with a write token, and pulls them back byte for byte.
 */
describe("docker local registry with skopeo", () => {
  const writer = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const name = uniqueName("registry");
  let stack: TestStack;
  let work: string;
  let layout: OciLayout;
  const creds = ["--dest-creds", `ci:${writer}`];
  const at = (reference: string) => `docker://${new URL(stack.url).host}/${name}/${reference}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "docker-local-"));
    layout = new OciLayout(join(work, "layout"));
    layout.tag("1.0", await layout.image(3, [65 * MiB, 3 * MiB, 200 * 1024]));
    layout.tag("multi", await layout.index([await layout.image(1, 64 * 1024), await layout.image(1, 64 * 1024, { architecture: "arm64", os: "linux" })]));
    await layout.write();
    stack = await startTestStack({ remotes: { [name]: { type: "local", package: "docker", write_tokens: [`ci:${writer}`], read_tokens: [reader] } } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await rm(work, { recursive: true, force: true });
  });

  /** Copies to a `dir:` destination; every blob file skopeo wrote must match its digest name and be the layout's own bytes. */
  async function pullAndCheck(source: string, ...flags: string[]): Promise<string[]> {
    const dest = await mkdtemp(join(work, "pull-"));
    await skopeo("copy", ...flags, source, `dir:${dest}`);
    const blobs = (await readdir(dest)).filter((file) => /^[0-9a-f]{64}$/.test(file));
    for (const file of blobs) {
      const bytes = await readFile(join(dest, file));
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file);
      expect(bytes.equals(await readFile(join(layout.dir, "blobs", "sha256", file)))).toBe(true);
    }
    return blobs;
  }

  it("pushes an image with a 65 MiB layer and pulls it back byte-identical, by tag and by digest", async () => {
    const digestFile = join(work, "pushed.digest");
    await skopeo("copy", ...creds, "--digestfile", digestFile, `oci:${layout.dir}:1.0`, at("team/app:1.0"));
    const pushed = (await readFile(digestFile, "utf8")).trim();

    const inspected = JSON.parse(await skopeo("inspect", at("team/app:1.0"))) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(pushed);
    expect(inspected.Layers).toHaveLength(3);
    const blobs = await pullAndCheck(at("team/app:1.0"));
    expect(blobs).toHaveLength(4); // 3 layers + config
    const sizes = await Promise.all(inspected.Layers.map((layer) => stat(join(layout.dir, "blobs", "sha256", layer.slice(7)))));
    expect(Math.max(...sizes.map((s) => s.size))).toBeGreaterThan(64 * MiB);
    expect(await pullAndCheck(at(`team/app@${pushed}`))).toEqual(blobs);

    // The raw manifest is the pushed one, byte for byte.
    const raw = await fetch(`${stack.url}/v2/${name}/team/app/manifests/1.0`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(raw.headers.get("docker-content-digest")).toBe(pushed);
    expect(`sha256:${createHash("sha256").update(Buffer.from(await raw.arrayBuffer())).digest("hex")}`).toBe(pushed);
  });

  it("pushes a multi-arch index with --all, a second tag, and a second repository that mounts the blobs", async () => {
    await skopeo("copy", ...creds, "--all", `oci:${layout.dir}:multi`, at("team/multi:1"));
    const raw = JSON.parse(await skopeo("inspect", "--raw", at("team/multi:1"))) as { mediaType: string; manifests: unknown[] };
    expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(raw.manifests).toHaveLength(2);
    const files = await mkdtemp(join(work, "multi-"));
    await skopeo("copy", "--all", at("team/multi:1"), `dir:${files}`);
    expect((await readdir(files)).filter((file) => file.endsWith(".manifest.json"))).toHaveLength(2);

    await skopeo("copy", ...creds, `oci:${layout.dir}:1.0`, at("team/app:latest"));
    await skopeo("copy", ...creds, at("team/app:1.0"), at("other/app:1.0"));
    await pullAndCheck(at("other/app:1.0"));
    const tags = await json(await fetch(`${stack.url}/v2/${name}/team/app/tags/list`));
    expect(tags).toEqual({ name: "team/app", tags: ["1.0", "latest"] });
  });

  it("refuses a push without the write token, and with a read token", async () => {
    await expect(skopeo("copy", `oci:${layout.dir}:multi`, at("team/anon:1"), "--all")).rejects.toThrow(/401|unauthorized|authentication required/i);
    await expect(skopeo("copy", "--all", "--dest-creds", `ci:${reader}`, `oci:${layout.dir}:multi`, at("team/ro:1"))).rejects.toThrow(/403|denied/i);
  });
});
