import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OciLayout } from "../support/oci-layout.ts";
import { Registry, skopeo } from "../support/registry.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * skopeo through a docker virtual over two registries (Debian's docker-registry): an image only
 * the second has, a tag only the first has, and the repository's tags unioned, a page at a time.
 * With a docker local as a member too: skopeo pushes through the virtual into its default_local,
 * and the repository it pushed is served from the local only (the registries' tags of it hidden).
 */
describe("skopeo copy through a docker virtual over two registries", () => {
  const first = new Registry();
  const second = new Registry();
  const writer = randomBytes(16).toString("hex");
  const names = { first: uniqueName("hub-a"), second: uniqueName("hub-b"), virtual: uniqueName("hub-all"), local: uniqueName("team-registry"), withLocal: uniqueName("registry"), readOnly: uniqueName("hub-ro") };
  const creds = ["--dest-creds", `ci:${writer}`];
  let stack: TestStack;
  let work: string;
  let layout: OciLayout;

  const host = () => new URL(stack.url).host;
  const throughVirtual = (reference: string, virtual = names.virtual) => `docker://${host()}/${virtual}/${reference}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "virtual-docker-"));
    await Promise.all([first.start(), second.start()]);
    layout = new OciLayout(join(work, "layout"));
    layout.tag("a", await layout.image(2, 64 * 1024));
    layout.tag("b", await layout.image(2, 64 * 1024));
    layout.tag("private", await layout.image(2, 32 * 1024));
    await layout.write();
    await skopeo("copy", `oci:${layout.dir}:a`, `docker://${first.host}/team/app:1.0`);
    await skopeo("copy", `oci:${layout.dir}:b`, `docker://${second.host}/team/app:2.0`);
    await skopeo("copy", `oci:${layout.dir}:b`, `docker://${second.host}/team/tool:1.0`);
    const member = (registry: Registry) => ({ package: "docker", base_url: registry.url, allow_private_network: true });
    stack = await startTestStack({
      remotes: { [names.first]: member(first), [names.second]: member(second), [names.local]: { type: "local", package: "docker", write_tokens: [`ci:${writer}`] } },
      virtuals: {
        [names.virtual]: { package: "docker", members: [names.first, names.second] },
        // The local last: a repository it has is still its own. A long TTL: what changes shows at once, not when it ends.
        [names.withLocal]: { package: "docker", members: [names.first, names.second, names.local], default_local: names.local, mutable_ttl: 3600 },
        [names.readOnly]: { package: "docker", members: [names.first, names.local] },
      },
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

  it("pages the unioned tags with n and last, with a Link to the next page as distribution sends it", async () => {
    const list = `${stack.url}/v2/${names.virtual}/team/app/tags/list`;
    const firstPage = await fetch(`${list}?n=1`);
    expect(firstPage.status).toBe(200);
    expect(await firstPage.json()).toEqual({ name: `${names.virtual}/team/app`, tags: ["1.0"] });
    const link = /^<([^>]+)>; rel="next"$/.exec(firstPage.headers.get("link") ?? "")?.[1];
    expect(link).toBe(`${list}?n=1&last=1.0`);
    const nextPage = await fetch(link!);
    expect(await nextPage.json()).toEqual({ name: `${names.virtual}/team/app`, tags: ["2.0"] });
    expect(nextPage.headers.get("link")).toBeNull();
    expect(await (await fetch(`${list}?last=1.0`)).json()).toEqual({ name: `${names.virtual}/team/app`, tags: ["2.0"] });
    // The whole union still answers without a page asked for, and a page size must be a count.
    expect(((await (await fetch(list)).json()) as { tags: string[] }).tags).toEqual(["1.0", "2.0"]);
    const bad = await fetch(`${list}?n=-1`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("UNSUPPORTED");
  });

  it("pushes with skopeo copy through the virtual into its default_local, and serves that repository from the local only", async () => {
    // Before: the registries' tags, merged and cached for an hour.
    expect(JSON.parse(await skopeo("list-tags", throughVirtual("team/app", names.withLocal))).Tags.sort()).toEqual(["1.0", "2.0"]);
    const digestFile = join(work, "private.digest");
    await skopeo("copy", ...creds, "--digestfile", digestFile, `oci:${layout.dir}:private`, throughVirtual("team/app:0.1", names.withLocal));
    const pushed = (await readFile(digestFile, "utf8")).trim();
    const inLocal = JSON.parse(await skopeo("inspect", `docker://${host()}/${names.local}/team/app:0.1`)) as { Digest: string };
    expect(inLocal.Digest).toBe(pushed);

    // The repository is the local's now: only its tag, at once; the registries' 1.0 and 2.0 are hidden, even by name.
    expect(JSON.parse(await skopeo("list-tags", throughVirtual("team/app", names.withLocal))).Tags).toEqual(["0.1"]);
    expect((JSON.parse(await skopeo("inspect", throughVirtual("team/app:0.1", names.withLocal))) as { Digest: string }).Digest).toBe(pushed);
    await expect(skopeo("inspect", throughVirtual("team/app:2.0", names.withLocal))).rejects.toThrow(/manifest unknown/i);
    expect((await fetch(`${stack.url}/v2/${names.withLocal}/team/app/manifests/1.0`)).status).toBe(404);
    // A repository the local does not have still comes from the registries.
    expect(await copyAndCheck(throughVirtual("team/tool:1.0", names.withLocal))).toBeGreaterThanOrEqual(3);
    // The virtual without the local still merges the registries.
    expect(JSON.parse(await skopeo("list-tags", throughVirtual("team/app"))).Tags.sort()).toEqual(["1.0", "2.0"]);

    // A push to the local's own URL shows through the virtual on the next request too.
    await skopeo("copy", ...creds, `oci:${layout.dir}:private`, `docker://${host()}/${names.local}/team/app:0.2`);
    expect(JSON.parse(await skopeo("list-tags", throughVirtual("team/app", names.withLocal))).Tags).toEqual(["0.1", "0.2"]);
  });

  it("refuses a push to a docker virtual without default_local with a registry error naming the setting", async () => {
    await expect(skopeo("copy", ...creds, `oci:${layout.dir}:private`, throughVirtual("team/app:0.1", names.readOnly))).rejects.toThrow(/default_local/);
    const response = await fetch(`${stack.url}/v2/${names.readOnly}/team/app/blobs/uploads/`, { method: "POST" });
    expect(response.status).toBe(405);
    expect(((await response.json()) as { errors: { code: string; message: string }[] }).errors[0]).toMatchObject({ code: "UNSUPPORTED", message: expect.stringContaining("default_local") });
  });
});
