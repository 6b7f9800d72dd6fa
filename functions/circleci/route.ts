import type { Context } from "hono";
import { z } from "zod";
import { decide } from "../../providers/access.ts";
import {
  artifactPaths,
  candidateBuilds,
  circleci,
  findArtifact,
  parseArtifactRequest,
  presentation,
  type Artifact,
  type ArtifactRequest,
} from "../../providers/circleci.ts";
import type { AppEnv } from "../context.ts";
import type { RemoteConfig } from "../config/schema.ts";
import { jsonError } from "../errors.ts";
import { contentTypeFor } from "../proxy/content-type.ts";
import { fetchThrough } from "../proxy/fetch-through.ts";
import { httpUpstream } from "../proxy/upstream.ts";
import { proxyContext } from "../context.ts";
import type { StateStore } from "../../infra/state/types.ts";
import { CircleError, listArtifacts, recentBuilds, withCircleToken, type CircleClient } from "./api.ts";

/** How many candidate builds' artifact lists `latest` opens before it gives up. */
const MAX_CANDIDATES = 10;

/** A `latest` or commit resolution as stored: the build, and when it was looked up. */
type Resolution = z.output<typeof resolutionSchema>;

/**
 * `{org}/{repo}/{build}/{artifact path}` of a `package: circleci` remote: resolve the build
 * to a number, find the artifact's URL, and serve it through the cache as an immutable file
 * (so it outlives CircleCI's retention). What CircleCI said is kept in the state store:
 * resolutions for the remote's mutable_ttl, artifact lists of builds for good.
 */
export async function serveCircleArtifact(c: Context<AppEnv>, remote: RemoteConfig, path: string): Promise<Response> {
  const decision = decide(remote, circleci, path);
  if (decision.kind === "denied") return jsonError(403, "DENIED", `${remote.name}: ${decision.reason}`);
  const request = parseArtifactRequest(path);
  if (!request) {
    return jsonError(400, "BAD_PATH", `${remote.name}: expected {org}/{repo}/{build number, 'latest' or commit SHA}/{artifact path}`);
  }
  const vcs = remote.vcs ?? "gh";
  const client: CircleClient = {
    remote: withCircleToken(remote),
    env: c.env,
    api: remote.api ?? (vcs === "circleci" ? "v2" : "v1.1"),
    project: { baseUrl: remote.base_url, vcs, org: request.org, repo: request.repo },
  };
  const state = c.var.stores.state;
  const branch = c.req.query("branch") || undefined;
  try {
    const resolved = await resolveBuild(state, client, request, branch);
    const found = await artifactOf(state, client, request, resolved.build);
    if (!found.artifact) return missingArtifact(remote, request, resolved.build, found.paths);
    const shown = presentation(request.artifactPath);
    // The build's own path: the key, and the artifact record's path (a `latest` link is a view of it).
    const buildPath = `${request.org}/${request.repo}/${resolved.build}/${request.artifactPath}`;
    return fetchThrough(proxyContext(c), {
      remote: client.remote,
      request: c.req.raw,
      cacheKey: buildPath,
      kind: "immutable",
      path: buildPath,
      // CircleCI's API named this URL for the project's artifact: its token goes with it (private
      // projects' artifact hosts need it), never further than the host it redirects to.
      upstream: httpUpstream(client.remote, c.env, new URL(found.artifact.url), { credentials: client.remote.auth ?? "none" }),
      contentType: shown.contentType ?? contentTypeFor(request.artifactPath, null),
      disposition: shown.disposition,
      responseHeaders: {
        "x-circleci-build": String(resolved.build),
        // Text shown inline must stay text (HTML is served as text/plain).
        "x-content-type-options": "nosniff",
        ...(resolved.staleBecause ? { warning: `110 - "Response is Stale" (build looked up earlier; ${resolved.staleBecause})` } : {}),
      },
    });
  } catch (error) {
    if (!(error instanceof CircleError)) throw error;
    return jsonError(error.status, error.code, error.message, error.headers);
  }
}

/**
 * The build number a request means. A `latest` or commit lookup is reused for mutable_ttl;
 * after that, when CircleCI cannot be asked (down, rate limiting), the last answer still is.
 */
async function resolveBuild(
  state: StateStore,
  client: CircleClient,
  request: ArtifactRequest,
  queryBranch: string | undefined,
): Promise<{ build: number; staleBecause?: string }> {
  const { build: ref } = request;
  if (ref.kind === "number") return { build: ref.number };
  // A commit may be on any branch: only an explicit ?branch= narrows it.
  const branch = ref.kind === "latest" ? (queryBranch ?? client.remote.branch) : queryBranch;
  const sha = ref.kind === "commit" ? ref.sha : undefined;
  const { org, repo } = client.project;
  const key = `circleci:${client.remote.name}:resolved:${org}/${repo}:${sha ?? "latest"}:${branch ?? ""}:${request.artifactPath}`;
  const cached = parseResolution(await state.get(key));
  const ttlMs = client.remote.mutable_ttl * 1000;
  if (cached && Date.now() - cached.at < ttlMs) return { build: cached.build };

  let build: number | null;
  try {
    build = await findBuildWithArtifact(state, client, request.artifactPath, { branch, sha });
  } catch (error) {
    if (cached && error instanceof CircleError && error.code !== "CIRCLECI_AUTH" && error.status !== 404) {
      return { build: cached.build, staleBecause: error.message };
    }
    throw error;
  }
  if (build === null) {
    const which = [sha && `of commit ${sha}`, branch && `on branch '${branch}'`].filter(Boolean).join(" ");
    const message = `no recent successful build ${which ? `${which} ` : ""}of ${org}/${repo} has the artifact '${request.artifactPath}'`;
    throw new CircleError(404, "BUILD_NOT_FOUND", `${client.remote.name}: ${message}`);
  }
  await state.set(key, JSON.stringify({ build, at: Date.now() } satisfies Resolution));
  return { build };
}

/**
 * The newest successful build that stored the artifact, so a later deploy job without
 * artifacts, or a failed build, does not hide it. Bounded: MAX_CANDIDATES lists opened.
 */
async function findBuildWithArtifact(
  state: StateStore,
  client: CircleClient,
  artifactPath: string,
  options: { branch?: string; sha?: string },
): Promise<number | null> {
  let opened = 0;
  for await (const batch of recentBuilds(client, options)) {
    for (const build of candidateBuilds(batch, options.sha)) {
      if (opened++ >= MAX_CANDIDATES) return null;
      if (findArtifact(await cachedArtifacts(state, client, build.number, artifactPath), artifactPath)) return build.number;
    }
  }
  return null;
}

/** The artifact of a numbered build, from what was kept when it is there. */
async function artifactOf(state: StateStore, client: CircleClient, request: ArtifactRequest, build: number): Promise<{ artifact?: Artifact; paths: string[] }> {
  const artifacts = await cachedArtifacts(state, client, build, request.artifactPath);
  return { artifact: findArtifact(artifacts, request.artifactPath), paths: artifactPaths(artifacts) };
}

/**
 * A build's artifact list. The kept list answers when it has the wanted path (artifacts of a
 * build never change, and CircleCI may have deleted them since); otherwise CircleCI is asked
 * (a running build may have stored more since), and an empty answer never replaces a kept list.
 */
async function cachedArtifacts(state: StateStore, client: CircleClient, build: number, wanted: string): Promise<Artifact[]> {
  const { org, repo } = client.project;
  const key = `circleci:${client.remote.name}:artifacts:${org}/${repo}/${build}`;
  const kept = parseArtifacts(await state.get(key));
  if (kept && findArtifact(kept, wanted)) return kept;
  let fresh: Artifact[];
  try {
    fresh = await listArtifacts(client, build);
  } catch (error) {
    if (kept && error instanceof CircleError && error.status === 404) return kept;
    throw error;
  }
  if (fresh.length === 0) return kept ?? fresh;
  await state.set(key, JSON.stringify(fresh));
  return fresh;
}

function missingArtifact(remote: RemoteConfig, request: ArtifactRequest, build: number, paths: string[]): Response {
  const message = `${remote.name}: build ${build} of ${request.org}/${request.repo} has no artifact '${request.artifactPath}'`;
  return Response.json({ error: { code: "ARTIFACT_NOT_FOUND", message, build, artifacts: paths } }, { status: 404, headers: { "x-circleci-build": String(build) } });
}

const resolutionSchema = z.object({ build: z.number().int(), at: z.number() });

function parseResolution(raw: string | null): Resolution | null {
  if (raw === null) return null;
  const parsed = resolutionSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}

const keptArtifactsSchema = z.array(z.object({ path: z.string(), nodeIndex: z.number(), url: z.string() }));

function parseArtifacts(raw: string | null): Artifact[] | null {
  if (raw === null) return null;
  const parsed = keptArtifactsSchema.safeParse(JSON.parse(raw));
  return parsed.success ? parsed.data : null;
}
