import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciLayout } from "../support/oci-layout.ts";
import { Registry, skopeo } from "../support/registry.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * skopeo through a docker virtual over two registries (Debian's docker-registry): an image only
 * the second has, a tag only the first has, and the repository's tags unioned.
 */
describe("skopeo copy through a docker virtual over two registries", () => {
  const first = new Registry();
  const second = new Registry();
  const names = { first: uniqueName("hub-a"), second: uniqueName("hub-b"), virtual: uniqueName("hub-all") };
  let stack: TestStack;
  let work: string;

  const throughVirtual = (reference: string) => `docker://${new URL(stack.url).host}/${names.virtual}/${reference}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-docker-"));
    await Promise.all([first.start(), second.start()]);
    const layout = new OciLayout(join(work, "layout"));
    layout.tag("a", await layout.image(2, 64 * 1024));
    layout.tag("b", await layout.image(2, 64 * 1024));
    await layout.write();
    await skopeo("copy", `oci:${layout.dir}:a`, `docker://${first.host}/team/app:1.0`);
    await skopeo("copy", `oci:${layout.dir}:b`, `docker://${second.host}/team/app:2.0`);
    await skopeo("copy", `oci:${layout.dir}:b`, `docker://${second.host}/team/tool:1.0`);
    const member = (registry: Registry) => ({ package: "docker", base_url: registry.url, allow_private_network: true });
    stack = await startTestStack({
      remotes: { [names.first]: member(first), [names.second]: member(second) },
      virtuals: { [names.virtual]: { package: "docker", members: [names.first, names.second] } },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await Promise.all([first.destroy(), second.destroy()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  const copyAndCheck = async (source: string) => {
    const dest = await mkdtemp(join(work, "copy-"));
    await skopeo("copy", source, `dir:${dest}`);
    const files = await readdir(dest);
    const blobs = files.filter((name) => /^[0-9a-f]{64}$/.test(name));
    for (const file of blobs) expect(createHash("sha256").update(await readFile(join(dest, file))).digest("hex")).toBe(file);
    return blobs.length;
  };

  it("copies an image only the second registry has, and a tag only the first has", async () => {
    expect(await copyAndCheck(throughVirtual("team/tool:1.0"))).toBeGreaterThanOrEqual(3);
    expect(await copyAndCheck(throughVirtual("team/app:1.0"))).toBeGreaterThanOrEqual(3);
    expect(await copyAndCheck(throughVirtual("team/app:2.0"))).toBeGreaterThanOrEqual(3);
  });

  it("lists a repository's tags from both registries under the virtual's name", async () => {
    const tags = JSON.parse(await skopeo("list-tags", throughVirtual("team/app"))) as { Repository: string; Tags: string[] };
    expect(tags.Tags.sort()).toEqual(["1.0", "2.0"]);
    const response = await fetch(`${stack.url}/v2/${names.virtual}/team/app/tags/list`);
    expect(await response.json()).toEqual({ name: `${names.virtual}/team/app`, tags: ["1.0", "2.0"] });
    expect((await fetch(`${stack.url}/v2/${names.virtual}/team/none/manifests/1.0`)).status).toBe(404);
  });
});
