import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { Registry } from "../support/registry.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const digestOf = (body: string | Buffer) => `sha256:${createHash("sha256").update(body).digest("hex")}`;

/**
 * The registry API's edges (issue 4): version check, registry-style errors, ban_tags, digest
 * verification, tag revalidation by HEAD, hostname mapping. Upstreams: a scripted origin and an
 * empty docker-registry (for the real registry's not-found answers).
 */
describe("docker registry API", () => {
  const origin = new Origin();
  const registry = new Registry();
  const cdn = new Origin();
  /** Docker Hub's shape: Bearer challenge, token realm on the same server, blobs redirected to a CDN. */
  const hub: { server: Server; tokenRequests: number; url: string } = { server: createServer(), tokenRequests: 0, url: "" };
  const names = {
    hub: uniqueName("hub"),
    fake: uniqueName("fake"),
    real: uniqueName("real"),
    banned: uniqueName("banned"),
    files: uniqueName("files"),
    private: uniqueName("private"),
  };
  const host = `${uniqueName("registry")}.example.test`;
  let stack: TestStack;

  const manifestV1 = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [], v: 1 });
  // Differs in length too: the test origin's ETag is length + first bytes, and a 304 would keep v1.
  const manifestV2 = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [], v: 2, moved: true });
  const goodBlob = randomBytes(4096);
  const claimed = digestOf(randomBytes(32));
  const serveManifest = (path: string, body: string) =>
    origin.serve(path, { body, contentType: OCI_MANIFEST, headers: { "docker-content-digest": digestOf(body) } });

  const url = (remote: keyof typeof names, path: string) => `${stack.url}/v2/${names[remote]}/${path}`;
  const errorOf = async (response: Response) => ((await response.json()) as { errors: { code: string }[] }).errors[0]!.code;

  beforeAll(async () => {
    serveManifest("/v2/fake/img/manifests/1", manifestV1);
    serveManifest("/v2/fake/img/manifests/cold", manifestV1);
    serveManifest("/v2/fake/img/manifests/latest", manifestV1);
    serveManifest("/v2/fake/img/manifests/allowed", manifestV1);
    // A registry that gzips its manifests on the wire (Content-Encoding), as some CDNs do.
    origin.serve(`/v2/fake/img/manifests/${digestOf(manifestV1)}`, { body: manifestV1, contentType: OCI_MANIFEST, gzip: true, headers: { "docker-content-digest": digestOf(manifestV1) } });
    origin.serve(`/v2/fake/img/blobs/${digestOf(goodBlob)}`, goodBlob);
    origin.serve(`/v2/fake/img/blobs/${claimed}`, randomBytes(4096));
    cdn.serve("/blob", goodBlob);
    await Promise.all([origin.start(), registry.start(), cdn.start()]);
    hub.server.on("request", (req, res) => {
      if (req.url!.startsWith("/token?")) {
        hub.tokenRequests++;
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: "hub-token" }));
      }
      if (req.headers.authorization !== "Bearer hub-token") {
        const challenge = `Bearer realm="${hub.url}/token",service="hub",scope="repository:alpine:pull"`;
        return void res.writeHead(401, { "www-authenticate": challenge, "content-type": "application/json" }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      }
      if (req.url === `/v2/alpine/blobs/${digestOf(goodBlob)}`) return void res.writeHead(307, { location: `${cdn.url}/blob` }).end();
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => hub.server.listen(0, "127.0.0.1", resolve));
    hub.url = `http://127.0.0.1:${(hub.server.address() as AddressInfo).port}`;
    const docker = { package: "docker", allow_private_network: true };
    stack = await startTestStack({
      remotes: {
        [names.hub]: { ...docker, base_url: hub.url },
        [names.fake]: { ...docker, base_url: origin.url, mutable_ttl: 1, hostnames: [host] },
        [names.real]: { ...docker, base_url: registry.url },
        [names.banned]: { ...docker, base_url: origin.url, ban_tags_enabled: true, ban_tags: ["latest"], blocklist: ["^secret/"] },
        [names.files]: { base_url: origin.url, allow_private_network: true },
        [names.private]: { ...docker, base_url: origin.url, private: true, read_tokens: ["team-read-token"] },
      },
      // The mapped hostname is sent as X-Forwarded-Host (fetch cannot set Host), as a load balancer would.
      env: { TRUST_FORWARDED: "true" },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await registry.destroy();
    await origin.stop();
    await cdn.stop();
    await new Promise((resolve) => hub.server.close(resolve));
  });

  it("answers the version check at the host root", async () => {
    for (const path of ["/v2/", "/v2"]) {
      const response = await fetch(`${stack.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      expect(await response.json()).toEqual({});
    }
  });

  it("answers unknown names, manifests and blobs with registry error codes", async () => {
    const cases: [string, number, string][] = [
      [`${stack.url}/v2/no-such-remote/img/manifests/1`, 404, "NAME_UNKNOWN"],
      [url("files", "img/manifests/1"), 404, "NAME_UNKNOWN"],
      [url("real", "Upper/Case/manifests/1"), 404, "NAME_INVALID"],
      [url("real", "nothing/here/manifests/1"), 404, "MANIFEST_UNKNOWN"],
      [url("real", `nothing/here/blobs/${claimed}`), 404, "BLOB_UNKNOWN"],
      [url("real", "nothing/here/tags/list"), 404, "NAME_UNKNOWN"],
    ];
    for (const [target, status, code] of cases) {
      const response = await fetch(target);
      expect([target, response.status]).toEqual([target, status]);
      expect(await errorOf(response)).toBe(code);
    }
  });

  it("refuses banned tags and blocklisted repositories with DENIED, without asking the upstream", async () => {
    const banned = await fetch(url("banned", "fake/img/manifests/latest"));
    expect(banned.status).toBe(403);
    expect(await errorOf(banned)).toBe("DENIED");
    const blocked = await fetch(url("banned", "secret/img/manifests/1"));
    expect(blocked.status).toBe(403);
    expect(await errorOf(blocked)).toBe("DENIED");
    expect(origin.count("/v2/fake/img/manifests/latest")).toBe(0);
    expect((await fetch(url("banned", "fake/img/manifests/allowed"))).status).toBe(200);
  });

  it("refuses a blob whose sha256 does not match its digest, and never caches it", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await fetch(url("fake", `fake/img/blobs/${claimed}`));
      expect(response.status).toBe(502);
      expect(await errorOf(response)).toBe("DIGEST_INVALID");
    }
    expect(origin.count(`/v2/fake/img/blobs/${claimed}`)).toBe(2);

    const good = await fetch(url("fake", `fake/img/blobs/${digestOf(goodBlob)}`));
    expect(Buffer.from(await good.arrayBuffer()).equals(goodBlob)).toBe(true);
    expect(good.headers.get("docker-content-digest")).toBe(digestOf(goodBlob));
    expect(good.headers.get("content-disposition")).toBeNull();
  });

  it("checks a manifest the registry sends gzip-encoded against its digest on the decoded bytes", async () => {
    for (const source of ["remote", "cache"]) {
      const response = await fetch(url("fake", `fake/img/manifests/${digestOf(manifestV1)}`));
      expect(response.status).toBe(200);
      expect(response.headers.get("x-artifact-source")).toBe(source);
      expect(await response.text()).toBe(manifestV1);
    }
  });

  it("replays Content-Type and Docker-Content-Digest, also on a HEAD for an uncached tag", async () => {
    const head = await fetch(url("fake", "fake/img/manifests/cold"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe(OCI_MANIFEST);
    expect(head.headers.get("docker-content-digest")).toBe(digestOf(manifestV1));
    expect(origin.requests.find((r) => r.path === "/v2/fake/img/manifests/cold")!.headers.accept).toContain("application/vnd.oci.image.index.v1+json");

    for (let i = 0; i < 2; i++) {
      const response = await fetch(url("fake", "fake/img/manifests/cold"));
      expect(await response.text()).toBe(manifestV1);
      expect(response.headers.get("content-type")).toBe(OCI_MANIFEST);
      expect(response.headers.get("docker-content-digest")).toBe(digestOf(manifestV1));
      expect(response.headers.get("content-disposition")).toBeNull();
    }
    expect(origin.count("/v2/fake/img/manifests/cold")).toBe(1);
  });

  it("checks an expired tag with a HEAD, and downloads again only when it moved", async () => {
    const path = "/v2/fake/img/manifests/1";
    expect(await (await fetch(url("fake", "fake/img/manifests/1"))).text()).toBe(manifestV1);
    await sleep(1100);
    expect(await (await fetch(url("fake", "fake/img/manifests/1"))).text()).toBe(manifestV1);
    expect([origin.count(path, "GET"), origin.count(path, "HEAD")]).toEqual([1, 1]);

    serveManifest(path, manifestV2);
    await sleep(1100);
    const moved = await fetch(url("fake", "fake/img/manifests/1"));
    expect(await moved.text()).toBe(manifestV2);
    expect(moved.headers.get("docker-content-digest")).toBe(digestOf(manifestV2));
    expect([origin.count(path, "GET"), origin.count(path, "HEAD")]).toEqual([2, 2]);
  });

  it("refreshes an expired tag list with a conditional GET: 304 keeps the copy, a new tag replaces it", async () => {
    const path = "/v2/fake/img/tags/list";
    const list = (tags: string[]) => origin.serve(path, { body: JSON.stringify({ name: "fake/img", tags }), contentType: "application/json" });
    const tags = async () => ((await (await fetch(url("fake", "fake/img/tags/list"))).json()) as { tags: string[] }).tags;
    list(["1"]);
    expect(await tags()).toEqual(["1"]);
    await sleep(1100);
    const unchanged = await fetch(url("fake", "fake/img/tags/list"));
    expect(unchanged.headers.get("x-artifact-source")).toBe("cache");
    expect(await unchanged.json()).toEqual({ name: "fake/img", tags: ["1"] });
    const revalidation = origin.requests.filter((r) => r.path === path).at(-1)!;
    expect([revalidation.method, revalidation.headers["if-none-match"]]).toEqual(["GET", expect.stringMatching(/^"/)]);

    list(["1", "2"]);
    await sleep(1100);
    expect(await tags()).toEqual(["1", "2"]);
    expect(origin.count(path, "GET")).toBe(3);
  });

  it("serves a hostname mapped to the remote without the remote segment", async () => {
    const root = await fetch(`${stack.url}/v2/`, { headers: { "x-forwarded-host": host } });
    expect(root.status).toBe(200);
    const response = await fetch(`${stack.url}/v2/fake/img/blobs/${digestOf(goodBlob)}`, { headers: { "x-forwarded-host": host } });
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(goodBlob)).toBe(true);
  });

  it("answers a Bearer challenge with one token and follows a blob's redirect without leaking it", async () => {
    for (const digest of [digestOf(goodBlob), claimed]) {
      await fetch(url("hub", `alpine/blobs/${digest}`)).then((response) => response.arrayBuffer());
    }
    const blob = await fetch(url("hub", `alpine/blobs/${digestOf(goodBlob)}`));
    expect(Buffer.from(await blob.arrayBuffer()).equals(goodBlob)).toBe(true);
    expect(hub.tokenRequests).toBe(1);
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]!.headers.authorization).toBeUndefined();
  });
  it("challenges clients of a private registry and lets them in with a read token", async () => {
    serveManifest("/v2/team/app/manifests/1", manifestV1);
    const anonymous = await fetch(url("private", "team/app/manifests/1"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    expect(await errorOf(anonymous)).toBe("UNAUTHORIZED");
    const wrong = await fetch(url("private", "team/app/manifests/1"), { headers: { authorization: `Basic ${btoa("ci:wrong")}` } });
    expect(wrong.status).toBe(401);
    const loggedIn = await fetch(url("private", "team/app/manifests/1"), {
      headers: { authorization: `Basic ${btoa("ci:team-read-token")}`, accept: OCI_MANIFEST },
    });
    expect(loggedIn.status).toBe(200);
    expect(loggedIn.headers.get("docker-content-digest")).toBe(digestOf(manifestV1));
  });

  it("keeps docker remotes off the generic file route", async () => {
    const response = await fetch(`${stack.url}/api/v1/remote/${names.fake}/v2/fake/img/manifests/1`);
    expect(response.status).toBe(404);
  });
});
