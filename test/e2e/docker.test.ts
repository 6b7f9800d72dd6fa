import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/http.ts";
import { OciLayout } from "../support/oci-layout.ts";
import { Registry, skopeo, TokenRealm } from "../support/registry.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * Issue 4 end to end: skopeo pulls through the proxy from Debian's docker-registry (CNCF
 * distribution): anonymous, htpasswd Basic auth, and behind a Bearer token realm.
 */
describe("docker registry pull-through with skopeo", () => {
  const user = { username: "puller", password: randomPassword() };
  const realm = new TokenRealm(user.username, user.password);
  const plain = new Registry();
  const basic = new Registry({ auth: { htpasswd: user } });
  let tokened: Registry;
  const names = { plain: uniqueName("hub"), basic: uniqueName("basic"), tokened: uniqueName("tokened") };
  let stack: TestStack;
  let work: string;
  /** What was pushed: the image's manifest digest and the multi-arch index digest. */
  const pushed = { image: "", index: "" };

  const proxied = (remote: keyof typeof names, reference: string) => `docker://${new URL(stack.url).host}/${names[remote]}/${reference}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "docker-e2e-"));
    await realm.start();
    tokened = new Registry({ auth: { token: realm } });
    await Promise.all([plain.start(), basic.start(), tokened.start()]);

    const layout = new OciLayout(join(work, "layout"));
    layout.tag("1.0", await layout.image(3, 256 * 1024));
    layout.tag("multi", await layout.index([await layout.image(1, 64 * 1024), await layout.image(1, 64 * 1024, { architecture: "arm64", os: "linux" })]));
    await layout.write();
    const push = async (registry: Registry, creds: string[]) => {
      await skopeo("copy", ...creds, "--digestfile", join(work, "image.digest"), `oci:${layout.dir}:1.0`, `docker://${registry.host}/test/app:1.0`);
      await skopeo("copy", ...creds, "--all", "--digestfile", join(work, "index.digest"), `oci:${layout.dir}:multi`, `docker://${registry.host}/test/multi:1`);
    };
    const creds = ["--dest-creds", `${user.username}:${user.password}`];
    await Promise.all([push(plain, []), push(basic, creds), push(tokened, creds)]);
    pushed.image = (await readFile(join(work, "image.digest"), "utf8")).trim();
    pushed.index = (await readFile(join(work, "index.digest"), "utf8")).trim();

    const auth = { type: "basic", username: user.username, password: user.password };
    stack = await startTestStack({
      remotes: {
        [names.plain]: { package: "docker", base_url: plain.url, allow_private_network: true, mutable_ttl: 1 },
        [names.basic]: { package: "docker", base_url: basic.url, allow_private_network: true, auth },
        [names.tokened]: { package: "docker", base_url: tokened.url, allow_private_network: true, auth },
      },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await Promise.all([plain.destroy(), basic.destroy(), tokened?.destroy()]);
    await realm.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** Copies to a `dir:` destination and checks every file skopeo wrote against its digest name. */
  async function copyAndCheck(source: string, ...flags: string[]): Promise<string[]> {
    const dest = await mkdtemp(join(work, "copy-"));
    await skopeo("copy", ...flags, source, `dir:${dest}`);
    const files = await readdir(dest);
    for (const file of files.filter((name) => /^[0-9a-f]{64}$/.test(name))) {
      expect(createHash("sha256").update(await readFile(join(dest, file))).digest("hex")).toBe(file);
    }
    return files;
  }

  it("inspects and copies a multi-layer image by tag and by digest", async () => {
    const inspected = JSON.parse(await skopeo("inspect", proxied("plain", "test/app:1.0"))) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(pushed.image);
    expect(inspected.Layers).toHaveLength(3);

    const byTag = await copyAndCheck(proxied("plain", "test/app:1.0"));
    expect(byTag.filter((name) => /^[0-9a-f]{64}$/.test(name))).toHaveLength(4); // 3 layers + config
    const byDigest = await copyAndCheck(proxied("plain", `test/app@${pushed.image}`));
    expect(byDigest).toEqual(byTag);
  });

  it("serves a multi-arch OCI index by tag and by digest, with every platform", async () => {
    const raw = JSON.parse(await skopeo("inspect", "--raw", proxied("plain", "test/multi:1"))) as { mediaType: string; manifests: unknown[] };
    expect(raw.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(raw.manifests).toHaveLength(2);
    const inspected = JSON.parse(await skopeo("inspect", proxied("plain", `test/multi@${pushed.index}`))) as { Architecture: string };
    expect(inspected.Architecture).toBe("amd64");
    const files = await copyAndCheck(proxied("plain", "test/multi:1"), "--all");
    expect(files.filter((name) => name.endsWith(".manifest.json"))).toHaveLength(2);
    await copyAndCheck(proxied("plain", `test/multi@${pushed.index}`), "--all");
  });

  it("pulls from an upstream behind htpasswd Basic auth", async () => {
    const inspected = JSON.parse(await skopeo("inspect", proxied("basic", "test/app:1.0"))) as { Digest: string };
    expect(inspected.Digest).toBe(pushed.image);
    await copyAndCheck(proxied("basic", "test/app:1.0"));
  });

  it("pulls from an upstream behind a Bearer token realm, fetching one token per scope", async () => {
    const before = realm.requests.length;
    await copyAndCheck(proxied("tokened", "test/app:1.0"));
    await copyAndCheck(proxied("tokened", "test/multi:1"), "--all");
    const ours = realm.requests.slice(before).filter((request) => request.userAgent?.startsWith("artifactapi-edge"));
    expect(ours.map((request) => request.scope).sort()).toEqual(["repository:test/app:pull", "repository:test/multi:pull"]);
  });

  it("keeps serving from cache when the upstream is down: by digest, and a stale tag", async () => {
    await plain.stop();
    try {
      await copyAndCheck(proxied("plain", `test/app@${pushed.image}`));
      await sleep(1100); // past mutable_ttl: the tag must be revalidated, and the upstream is gone
      const inspected = JSON.parse(await skopeo("inspect", proxied("plain", "test/app:1.0"))) as { Digest: string };
      expect(inspected.Digest).toBe(pushed.image);
      await copyAndCheck(proxied("plain", "test/app:1.0"));
      const stale = await fetch(`${stack.url}/v2/${names.plain}/test/app/manifests/1.0`);
      expect(stale.status).toBe(200);
      expect(stale.headers.get("warning")).toContain("Stale");
      expect(stale.headers.get("docker-content-digest")).toBe(pushed.image);
      expect(stale.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
    } finally {
      await plain.start();
    }
  });
});

function randomPassword(): string {
  return createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 20);
}
