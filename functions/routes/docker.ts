import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { decide } from "../../providers/access.ts";
import {
  docker,
  isBannedTag,
  MANIFEST_ACCEPT,
  parseRegistryPath,
  pullScope,
  registryError,
  unknownCode,
  upstreamPath,
  upstreamRepository,
  type RegistryErrorCode,
  type RegistryPath,
} from "../../providers/docker.ts";
import { requestKey } from "../../providers/query.ts";
import type { AppEnv } from "../context.ts";
import { managementAccess, mayReadRemote, presentedToken } from "../auth.ts";
import { currentConfig, currentRemotes } from "../config/cache.ts";
import { REGISTRY_TOKEN_PATH, repositoryForHost } from "../hostnames.ts";
import { dockerLocal } from "../locals/docker.ts";
import { clientOrigin, proxyBase, requestHost } from "../proxy/proxy-base.ts";
import { countRead } from "./local.ts";
import { registryUpstream } from "../docker/registry-auth.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import type { IndexEntry } from "../proxy/index-entry.ts";
import type { FetchPlan } from "../proxy/plan.ts";
import { upstreamUrl, type Upstream } from "../proxy/upstream.ts";
import { proxyContext } from "../context.ts";

/**
 * The registry v2 API for `package: docker` remotes: `/v2/{remote}/{repository…}/manifests|blobs|tags/…`
 * (a hostname mapped to the remote drops `{remote}`, see hostnames.ts). Clients authenticate to
 * the proxy on private remotes: a 401 with a Basic `WWW-Authenticate` challenge.
 */
export const dockerRoutes = new Hono<AppEnv>();

const API_VERSION = { "docker-distribution-api-version": "registry/2.0" };

/**
 * The version check every client makes first, at the host root. Clients learn from it whether and
 * how to authenticate for every later request (docker, containerd and skopeo send credentials
 * only after a challenge here), so while a docker local exists, a request without credentials gets
 * a Bearer challenge, as Docker Hub's: the client fetches a token from REGISTRY_TOKEN_PATH, with its
 * credentials if it has any, and anonymously otherwise (docker refuses to go on after a Basic
 * challenge without credentials, which would break anonymous pulls of the remotes).
 */
dockerRoutes.on(["GET", "HEAD"], ["/v2", "/v2/"], async (c) => {
  const { locals } = await currentConfig(c.var.stores);
  const pushable = [...locals.values()].some((local) => local.package === "docker");
  if (pushable && !c.req.header("authorization")) {
    const challenge = registryResponse(401, "UNAUTHORIZED", "authenticate with a token from the realm (anonymous pulls get one without credentials)");
    const realm = `${clientOrigin(c.req.raw, c.env).origin}${REGISTRY_TOKEN_PATH}`;
    challenge.headers.set("www-authenticate", `Bearer realm="${realm}",service="artifactapi"`);
    return challenge;
  }
  return c.json({}, 200, API_VERSION);
});

/** Tokens live as long as this says; clients ask again after (the token is the credential itself, it does not expire). */
const TOKEN_SECONDS = 3600;

/**
 * The token realm: the token is the credential the client presented (a write, read or management
 * token, as the Basic password), so the registry routes check it as they check any token; a client
 * without credentials gets an anonymous one that no repository accepts for more than public reads.
 * Credentials that no docker repository of this proxy knows are refused, so `docker login` fails.
 */
dockerRoutes.on(["GET", "POST"], REGISTRY_TOKEN_PATH, async (c) => {
  const presented = presentedToken(c.req.raw);
  let token = "anonymous";
  if (presented !== null) {
    const { locals, remotes } = await currentConfig(c.var.stores);
    const registries = [...locals.values(), ...remotes.values()].filter((repository) => repository.package === "docker");
    const known = registries.some((repository) => mayReadRemote({ ...repository, private: true }, c.env, c.req.raw)) || managementAccess(c.env, c.req.raw) !== null;
    if (!known) return registryResponse(401, "UNAUTHORIZED", "these credentials are not a token of any registry on this proxy");
    token = presented;
  }
  return c.json({ token, access_token: token, expires_in: TOKEN_SECONDS, issued_at: new Date().toISOString() }, 200, { "cache-control": "no-store" });
});

/** Docker locals: the registry's push and pull API (functions/locals/docker.ts); every other name goes on to the remotes. */
dockerRoutes.on(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"], "/v2/:name/*", async (c, next) => {
  const name = c.req.param("name");
  const local = (await currentConfig(c.var.stores)).locals.get(name);
  if (local?.package !== "docker") return next();
  const path = new URL(c.req.url).pathname.slice(`/v2/${name}/`.length);
  const base = proxyBase(c.req.raw, local, "/v2", c.env).url;
  // A hostname mapped to the local serves it at /v2/ of that host.
  const mapped = repositoryForHost([local], requestHost(c.req.raw, c.env)) !== undefined;
  const ctx = { ...proxyContext(c), local, request: c.req.raw, path, baseUrl: mapped ? `${base}/v2` : base };
  const response = await dockerLocal.handle(ctx);
  if (/\/(blobs|manifests)\/[^/]+$/.test(path) && !path.includes("/blobs/uploads/")) countRead(ctx, path, response);
  return response;
});

dockerRoutes.on(["GET", "HEAD"], "/v2/:remote/*", async (c) => {
  const name = c.req.param("remote");
  const remote = (await currentRemotes(c.var.stores)).get(name);
  if (remote?.package !== "docker") return registryResponse(404, "NAME_UNKNOWN", `no docker remote named '${name}'`);
  if (!mayReadRemote(remote, c.env, c.req.raw)) {
    // docker login / skopeo --creds answer a Basic challenge with the read token as password.
    const challenge = registryResponse(401, "UNAUTHORIZED", `${remote.name}: this registry is private; log in with one of its read tokens`);
    challenge.headers.set("www-authenticate", `Basic realm="artifactapi ${remote.name}"`);
    return challenge;
  }

  const url = new URL(c.req.url);
  const path = url.pathname.slice(`/v2/${name}/`.length);
  const parsed = parseRegistryPath(path);
  if (!parsed) return registryResponse(404, "NAME_INVALID", "not a registry v2 path (repository names are lowercase)");
  const decision = decide(remote, docker, path);
  if (decision.kind === "denied") return registryResponse(403, "DENIED", `${remote.name}: ${decision.reason}`);
  if (parsed.kind === "manifest" && isBannedTag(remote, parsed)) {
    return registryResponse(403, "DENIED", `${remote.name}: the tag '${parsed.reference}' is banned on this remote`);
  }

  const { cacheKey, search } = requestKey(docker, path, null, url.search);
  const registry = registryUpstream(remote, c.env, c.var.stores.state, {
    url: upstreamUrl(remote, upstreamPath(remote.base_url, parsed), search),
    scope: pullScope(upstreamRepository(remote.base_url, parsed.repository)),
    accept: parsed.kind === "manifest" ? MANIFEST_ACCEPT : "application/json",
  });
  const plan: FetchPlan = {
    remote,
    request: c.req.raw,
    cacheKey,
    kind: decision.kind,
    path,
    upstream: parsed.kind === "manifest" && !parsed.digest ? withTagCheck(registry) : registry,
    verify: parsed.kind === "tags" ? undefined : (parsed.digest ?? undefined),
    disposition: "none",
    responseHeaders: API_VERSION,
    replayHeaders: ["docker-content-digest"],
  };
  return registryAnswer(await fetchThrough(proxyContext(c), plan), parsed);
});

/** A tag is revalidated with one HEAD (registries do not count it against rate limits): still the stored manifest? */
function withTagCheck(registry: Upstream): Upstream {
  return {
    ...registry,
    async revalidate(entry: IndexEntry) {
      const response = await registry.fetch({ method: "HEAD" });
      await response.body?.cancel();
      return response.status === 200 && response.headers.get("docker-content-digest") === `sha256:${entry.sha256}`;
    },
  };
}

/** Digest-addressed answers always name their digest; errors become the registry's error format. */
async function registryAnswer(response: Response, parsed: RegistryPath): Promise<Response> {
  if (response.status < 400) {
    if (parsed.kind !== "tags" && parsed.digest && !response.headers.has("docker-content-digest")) {
      const headers = new Headers(response.headers);
      headers.set("docker-content-digest", parsed.reference);
      return new Response(response.body, { status: response.status, headers, encodeBody: "manual" });
    }
    return response;
  }
  const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string }; errors?: unknown[] } | null;
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  // Already in the registry's format (the fill coordinator runs this route too): as it is.
  if (Array.isArray(body?.errors)) return Response.json(body, { status: response.status, headers });
  const message = body?.error?.message ?? `the proxy answered ${response.status}`;
  const code = registryCode(body?.error?.code, parsed);
  return Response.json(registryError(code, message), { status: response.status, headers });
}

/** fetch-through's error codes in the distribution spec's vocabulary. */
function registryCode(proxyCode: string | undefined, parsed: RegistryPath): RegistryErrorCode {
  switch (proxyCode) {
    case "NOT_FOUND":
      return unknownCode(parsed);
    case "DIGEST_MISMATCH":
      return "DIGEST_INVALID";
    case "UPSTREAM_RATE_LIMITED":
      return "TOOMANYREQUESTS";
    case "UPSTREAM_DENIED":
      return "DENIED";
    default:
      return "UNAVAILABLE";
  }
}

function registryResponse(status: ContentfulStatusCode, code: RegistryErrorCode, message: string): Response {
  return Response.json(registryError(code, message), { status, headers: API_VERSION });
}
