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
import type { RemoteConfig } from "../config/schema.ts";
import type { ProxyContext } from "../context.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import type { IndexEntry } from "../proxy/index-entry.ts";
import type { FetchPlan } from "../proxy/plan.ts";
import { upstreamUrl, type Upstream } from "../proxy/upstream.ts";
import { registryUpstream } from "./registry-auth.ts";

/** The registry v2 read path of a docker remote: its route's, and a docker virtual's members'. */

export const API_VERSION = { "docker-distribution-api-version": "registry/2.0" };

/** One read of a docker remote (`path` below `/v2/{remote}/`), for its route and for a virtual's members. */
export async function serveDockerRemote(ctx: ProxyContext, remote: RemoteConfig, request: Request, path: string, search: string): Promise<Response> {
  const parsed = parseRegistryPath(path);
  if (!parsed) return registryResponse(404, "NAME_INVALID", "not a registry v2 path (repository names are lowercase)");
  const decision = decide(remote, docker, path);
  if (decision.kind === "denied") return registryResponse(403, "DENIED", `${remote.name}: ${decision.reason}`);
  if (parsed.kind === "manifest" && isBannedTag(remote, parsed)) {
    return registryResponse(403, "DENIED", `${remote.name}: the tag '${parsed.reference}' is banned on this remote`);
  }

  const { cacheKey, search: kept } = requestKey(docker, path, null, search);
  const registry = registryUpstream(remote, ctx.env, ctx.stores.state, {
    url: upstreamUrl(remote, upstreamPath(remote.base_url, parsed), kept),
    scope: pullScope(upstreamRepository(remote.base_url, parsed.repository)),
    accept: parsed.kind === "manifest" ? MANIFEST_ACCEPT : "application/json",
  });
  const plan: FetchPlan = {
    remote,
    request,
    cacheKey,
    kind: decision.kind,
    path,
    upstream: parsed.kind === "manifest" && !parsed.digest ? withTagCheck(registry) : registry,
    verify: parsed.kind === "tags" ? undefined : (parsed.digest ?? undefined),
    disposition: "none",
    responseHeaders: API_VERSION,
    replayHeaders: ["docker-content-digest"],
  };
  return registryAnswer(await fetchThrough(ctx, plan), parsed);
}

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
export async function registryAnswer(response: Response, parsed: RegistryPath): Promise<Response> {
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

export function registryResponse(status: ContentfulStatusCode, code: RegistryErrorCode, message: string): Response {
  return Response.json(registryError(code, message), { status, headers: API_VERSION });
}
