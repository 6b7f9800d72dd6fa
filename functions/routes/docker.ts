import { Hono } from "hono";
import { parseRegistryPath } from "../../providers/docker.ts";
import type { AppEnv } from "../context.ts";
import { managementAccess, mayReadRemote, presentedToken } from "../auth.ts";
import { currentConfig, currentRemotes } from "../config/cache.ts";
import { REGISTRY_TOKEN_PATH, repositoryForHost } from "../hostnames.ts";
import { dockerLocal } from "../locals/docker.ts";
import { clientOrigin, proxyBase, requestHost } from "../proxy/proxy-base.ts";
import { countRead } from "./local.ts";
import { API_VERSION, registryAnswer, registryResponse, serveDockerRemote } from "../docker/remote.ts";
import { serveDockerVirtual, writeToDockerVirtual } from "../virtuals/docker.ts";
import { localChanged } from "../virtuals/member-changes.ts";
import { memberOfVirtual } from "../virtuals/member-observer.ts";
import { proxyContext } from "../context.ts";

/**
 * The registry v2 API for `package: docker` remotes: `/v2/{remote}/{repository…}/manifests|blobs|tags/…`
 * (a hostname mapped to the remote drops `{remote}`, see hostnames.ts). Clients authenticate to
 * the proxy on private remotes: a 401 with a Basic `WWW-Authenticate` challenge.
 */
export const dockerRoutes = new Hono<AppEnv>();


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
  const config = await currentConfig(c.var.stores);
  const local = config.locals.get(name);
  if (local?.package !== "docker") return next();
  const path = new URL(c.req.url).pathname.slice(`/v2/${name}/`.length);
  const base = proxyBase(c.req.raw, local, "/v2", c.env).url;
  // A hostname mapped to the local serves it at /v2/ of that host.
  const mapped = repositoryForHost([local], requestHost(c.req.raw, c.env)) !== undefined;
  const ctx = { ...proxyContext(c), local, request: c.req.raw, path, baseUrl: mapped ? `${base}/v2` : base };
  const response = await dockerLocal.handle(ctx);
  if (/\/(blobs|manifests)\/[^/]+$/.test(path) && !path.includes("/blobs/uploads/")) countRead(ctx, path, response);
  await localChanged(ctx, config, local, c.req.raw, path, response);
  return response;
});

/** Docker virtuals: tags/list merged, manifests and blobs from the first member that has them (functions/virtuals/docker.ts). */
dockerRoutes.on(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"], "/v2/:name/*", async (c, next) => {
  const name = c.req.param("name");
  const config = await currentConfig(c.var.stores);
  const virtual = config.virtuals.get(name);
  if (virtual?.package !== "docker") return next();
  const url = new URL(c.req.url);
  const path = url.pathname.slice(`/v2/${name}/`.length);
  if (c.req.method !== "GET" && c.req.method !== "HEAD") return writeToDockerVirtual(proxyContext(c), virtual, config, c.req.raw, path);
  if (!mayReadRemote(virtual, c.env, c.req.raw)) return registryChallenge(virtual.name, "registry");
  const parsed = parseRegistryPath(path);
  if (!parsed) return registryResponse(404, "NAME_INVALID", "not a registry v2 path (repository names are lowercase)");
  return registryAnswer(await serveDockerVirtual(proxyContext(c), virtual, config, c.req.raw, path, `${name}/${parsed.repository}`), parsed);
});

dockerRoutes.on(["GET", "HEAD"], "/v2/:remote/*", async (c) => {
  const name = c.req.param("remote");
  const remote = (await currentRemotes(c.var.stores)).get(name);
  if (remote?.package !== "docker") return registryResponse(404, "NAME_UNKNOWN", `no docker remote named '${name}'`);
  if (!mayReadRemote(remote, c.env, c.req.raw)) return registryChallenge(remote.name, "registry");
  const url = new URL(c.req.url);
  return serveDockerRemote(memberOfVirtual(proxyContext(c), c.req.raw), remote, c.req.raw, url.pathname.slice(`/v2/${name}/`.length), url.search);
});

/** docker login / skopeo --creds answer a Basic challenge with the read token as password. */
function registryChallenge(name: string, kind: string): Response {
  const challenge = registryResponse(401, "UNAUTHORIZED", `${name}: this ${kind} is private; log in with one of its read tokens`);
  challenge.headers.set("www-authenticate", `Basic realm="artifactapi ${name}"`);
  return challenge;
}

