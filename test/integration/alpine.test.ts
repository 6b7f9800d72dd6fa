import { createHash, createVerify, generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApk, buildIndex, filesOf, gzipStreams, parseIndex, q1, type Apk } from "../support/apk.ts";
import { sha256, sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const REPO = "/v3.20/main/x86_64";
const KEY_NAME = "proxy-test-65a1b2c3.rsa.pub";

/**
 * Alpine has no client on these machines, so the test walks a repository as `apk` does:
 * fetch `APKINDEX.tar.gz`, check its signature with the repository key (any changed byte
 * breaks it), then fetch every `<P>-<V>.apk` the index lists and check what apk checks
 * before installing: the size (`S:`), the control section's sha1 (`C:`), the name and
 * version in `.PKGINFO`, and the data section's sha256 against `.PKGINFO`'s `datahash`.
 */
describe("alpine repository through the proxy, walked as apk does", () => {
  const origin = new Origin();
  const remote = uniqueName("alpine");
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const packages: Apk[] = [
    buildApk("hello", "1.0-r0", { "usr/share/hello/greeting.txt": "hello\n" }),
    buildApk("busybox-extras", "1.36.1-r29", { "usr/bin/extras": "#!/bin/sh\necho extras\n", "etc/extras.conf": "on=1\n" }),
  ];
  let stack: TestStack;

  const publish = () => {
    const index = buildIndex(packages, privateKey, KEY_NAME);
    // A content etag: the origin's own is length-based, and a new index must not look unchanged.
    origin.serve(`${REPO}/APKINDEX.tar.gz`, { body: index, contentType: "application/gzip", headers: { etag: `"${sha256(index)}"` } });
    for (const apk of packages) origin.serve(`${REPO}/${apk.name}-${apk.version}.apk`, apk.file);
  };
  const proxied = (path: string) => `${stack.url}/api/v1/remote/${remote}${path}`;

  /** What `apk update` + `apk fetch` of every package would do; returns the packages it verified. */
  const walk = async () => {
    const response = await fetch(proxied(`${REPO}/APKINDEX.tar.gz`));
    expect(response.status).toBe(200);
    const index = Buffer.from(await response.arrayBuffer());
    const [signatureStream, indexStream, ...rest] = gzipStreams(index);
    expect(rest).toHaveLength(0);
    const signature = filesOf(signatureStream!).get(`.SIGN.RSA.${KEY_NAME}`);
    expect(signature, "the index is signed with the repository key").toBeDefined();
    expect(createVerify("RSA-SHA1").update(indexStream!).verify(publicKey, signature!)).toBe(true);

    const records = parseIndex(filesOf(indexStream!).get("APKINDEX")!.toString("utf8"));
    const verified: string[] = [];
    for (const record of records) {
      const file = `${record.P}-${record.V}.apk`;
      const apk = await fetch(proxied(`${REPO}/${file}`));
      expect(apk.status, file).toBe(200);
      const bytes = Buffer.from(await apk.arrayBuffer());
      expect(bytes.length, `${file} size`).toBe(Number(record.S));
      const [control, data, ...extra] = gzipStreams(bytes);
      expect(extra).toHaveLength(0);
      expect(q1(control!), `${file} control checksum`).toBe(record.C);
      const pkginfo = filesOf(control!).get(".PKGINFO")!.toString("utf8");
      expect(pkginfo).toContain(`pkgname = ${record.P}\n`);
      expect(pkginfo).toContain(`pkgver = ${record.V}\n`);
      expect(pkginfo).toContain(`datahash = ${createHash("sha256").update(data!).digest("hex")}\n`);
      verified.push(file);
    }
    return { verified, response, index };
  };

  beforeAll(async () => {
    publish();
    await origin.start();
    stack = await startTestStack({ remotes: { [remote]: { base_url: origin.url, package: "alpine", allow_private_network: true, mutable_ttl: 1 } } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await origin.stop();
  });

  it("serves the signed index unchanged and every package it lists with matching digests", async () => {
    const { verified, index } = await walk();
    expect(verified).toEqual(["hello-1.0-r0.apk", "busybox-extras-1.36.1-r29.apk"]);
    expect(sha256(index)).toBe(sha256(origin.files.get(`${REPO}/APKINDEX.tar.gz`)!.body as Buffer));
    for (const file of verified) expect(origin.count(`${REPO}/${file}`)).toBe(1);
  });

  it("serves a package again from storage without asking the upstream", async () => {
    const before = origin.count(`${REPO}/hello-1.0-r0.apk`);
    const again = await fetch(proxied(`${REPO}/hello-1.0-r0.apk`));
    expect(again.headers.get("x-artifact-source")).toBe("cache");
    expect(sha256(Buffer.from(await again.arrayBuffer()))).toBe(sha256(packages[0]!.file));
    expect(origin.count(`${REPO}/hello-1.0-r0.apk`)).toBe(before);
  });

  it("sees a newly published package once the index's mutable_ttl has passed", async () => {
    packages.push(buildApk("hello", "1.1-r0", { "usr/share/hello/greeting.txt": "hello again\n" }));
    publish();
    await sleep(1_200);
    expect((await walk()).verified).toContain("hello-1.1-r0.apk");
  });

  it("walks the whole repository again from storage after the upstream is gone", async () => {
    await origin.stop();
    const before = origin.requests.length;
    await sleep(1_200); // the index is past its mutable_ttl: the proxy serves it stale
    const { verified, response } = await walk();
    expect(verified).toEqual(["hello-1.0-r0.apk", "busybox-extras-1.36.1-r29.apk", "hello-1.1-r0.apk"]);
    expect(response.headers.get("warning")).toContain("Response is Stale");
    expect(origin.requests.length).toBe(before);
  });
});
