import { describe, expect, it } from "vitest";
import { parseChallenge, tokenCacheMs, tokenResponseSchema, tokenUrl } from "../../../providers/docker-challenge.ts";
import {
  docker,
  isBannedTag,
  MANIFEST_ACCEPT,
  parseRegistryPath,
  registryError,
  unknownCode,
  upstreamPath,
  upstreamRepository,
} from "../../../providers/docker.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("docker paths", () => {
  it.each([
    ["library/alpine/manifests/3.20", "mutable"],
    [`library/alpine/manifests/${DIGEST}`, "immutable"],
    [`org/team/app/blobs/${DIGEST}`, "immutable"],
    ["org/app/tags/list", "mutable"],
    ["Org/App/manifests/latest", "denied"],
    ["org/app/blobs/latest", "denied"],
    ["org/app/manifests/-bad", "denied"],
    ["org/app/uploads/x", "denied"],
    ["../etc/manifests/x", "denied"],
  ])("classifies %s as %s", (path, kind) => {
    expect(docker.classify(path).kind).toBe(kind);
  });

  it("parses repository, kind and reference", () => {
    expect(parseRegistryPath("a/b/c/manifests/v1.2")).toEqual({ kind: "manifest", repository: "a/b/c", reference: "v1.2", digest: null });
    expect(parseRegistryPath(`x/blobs/${DIGEST}`)).toEqual({ kind: "blob", repository: "x", reference: DIGEST, digest: { algorithm: "sha256", hex: "ab".repeat(32) } });
    expect(parseRegistryPath("my-org/my_app/tags/list")).toEqual({ kind: "tags", repository: "my-org/my_app" });
  });

  it("adds library/ for official images on Docker Hub only", () => {
    expect(upstreamRepository("https://registry-1.docker.io", "alpine")).toBe("library/alpine");
    expect(upstreamRepository("https://registry-1.docker.io", "bitnami/redis")).toBe("bitnami/redis");
    expect(upstreamRepository("https://ghcr.io", "alpine")).toBe("alpine");
    expect(upstreamPath("https://registry-1.docker.io", parseRegistryPath("alpine/manifests/3")!)).toBe("v2/library/alpine/manifests/3");
    expect(upstreamPath("https://ghcr.io", parseRegistryPath("o/r/tags/list")!)).toBe("v2/o/r/tags/list");
  });

  it("bans configured tags only when enabled, never digests", () => {
    const rules = { ban_tags_enabled: true, ban_tags: ["latest"] };
    expect(isBannedTag(rules, parseRegistryPath("a/manifests/latest")!)).toBe(true);
    expect(isBannedTag(rules, parseRegistryPath("a/manifests/1.0")!)).toBe(false);
    expect(isBannedTag({ ...rules, ban_tags_enabled: false }, parseRegistryPath("a/manifests/latest")!)).toBe(false);
    expect(isBannedTag(rules, parseRegistryPath(`a/manifests/${DIGEST}`)!)).toBe(false);
  });

  it("accepts all four manifest types and speaks the registry's error format", () => {
    for (const type of ["manifest.v2+json", "manifest.list.v2+json", "image.manifest.v1+json", "image.index.v1+json"]) {
      expect(MANIFEST_ACCEPT).toContain(type);
    }
    expect(registryError("DENIED", "no")).toEqual({ errors: [{ code: "DENIED", message: "no" }] });
    expect(unknownCode(parseRegistryPath(`a/blobs/${DIGEST}`)!)).toBe("BLOB_UNKNOWN");
    expect(unknownCode(parseRegistryPath("a/manifests/1")!)).toBe("MANIFEST_UNKNOWN");
    expect(unknownCode(parseRegistryPath("a/tags/list")!)).toBe("NAME_UNKNOWN");
  });
});

describe("docker auth challenges", () => {
  it("parses Docker Hub's Bearer challenge and builds the token URL", () => {
    const challenge = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"');
    expect(challenge).toEqual({ scheme: "bearer", realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/alpine:pull" });
    const url = tokenUrl(challenge as Extract<typeof challenge, { scheme: "bearer" }>, "repository:other:pull");
    expect(url.searchParams.get("service")).toBe("registry.docker.io");
    expect(url.searchParams.get("scope")).toBe("repository:library/alpine:pull");
  });

  it("uses our scope when the challenge names none, and recognises Basic", () => {
    const challenge = parseChallenge('bearer realm="http://127.0.0.1:9/token"');
    expect(tokenUrl(challenge as Extract<typeof challenge, { scheme: "bearer" }>, "repository:a/b:pull").search).toBe("?scope=repository%3Aa%2Fb%3Apull");
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: "basic", realm: "Registry Realm" });
    expect(parseChallenge("Negotiate abc")).toBeNull();
    expect(parseChallenge('Bearer service="x"')).toBeNull();
    expect(parseChallenge(null)).toBeNull();
  });

  it("reads token or access_token with a 60 s default and keeps it until shortly before expiry", () => {
    expect(tokenResponseSchema.parse({ token: "t", expires_in: 300 })).toEqual({ token: "t", expiresInSeconds: 300 });
    expect(tokenResponseSchema.parse({ access_token: "a" })).toEqual({ token: "a", expiresInSeconds: 60 });
    expect(tokenResponseSchema.safeParse({ expires_in: 3 }).success).toBe(false);
    expect(tokenCacheMs(60)).toBe(50_000);
    expect(tokenCacheMs(4)).toBe(2_000);
  });
});
