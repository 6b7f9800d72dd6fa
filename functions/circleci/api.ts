import type { z } from "zod";
import {
  v1ArtifactsSchema,
  v1BuildsSchema,
  v1Urls,
  v2ArtifactSchema,
  v2JobSchema,
  v2Page,
  v2PipelineSchema,
  v2Urls,
  v2WorkflowSchema,
  type ApiVersion,
  type Artifact,
  type BuildSummary,
  type Project,
} from "../../providers/circleci.ts";
import type { RemoteConfig } from "../config/schema.ts";
import type { Env } from "../env.ts";
import { httpUpstream, UpstreamError } from "../proxy/upstream.ts";

/** v1.1 answers at most 100 builds a page; 30 is its default. */
const V1_PAGE = 30;
/** How far back `latest` and commit lookups look: recent builds (v1.1) or pipelines (v2). */
const MAX_BUILDS_SCANNED = 60;
const MAX_PIPELINES_SCANNED = 20;
/** v2 lists are paginated; a build with more artifact pages than this is cut short. */
const MAX_PAGES = 20;

/** An answer for the client, from a CircleCI API call that did not give what was needed. */
export class CircleError extends Error {
  readonly status: 404 | 502 | 503 | 504;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: 404 | 502 | 503 | 504, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** One remote's view of one CircleCI project. */
export interface CircleClient {
  /** The remote with `Circle-Token` as its auth header (see withCircleToken). */
  remote: RemoteConfig;
  env: Env;
  api: ApiVersion;
  project: Project;
}

/**
 * The remote as the upstream seam should use it: the CircleCI token becomes the auth header, so
 * it goes to the API, never to a host it redirects to (S3), and error messages name its
 * variable, not its value. Artifact downloads get it explicitly (circleArtifactUpstream).
 */
export function withCircleToken(remote: RemoteConfig): RemoteConfig {
  if (remote.token === undefined && remote.token_env === undefined) return remote;
  return { ...remote, auth: { type: "header", name: "circle-token", value: remote.token, value_env: remote.token_env } };
}

/** The artifacts a build (v2: job) stored. */
export async function listArtifacts(client: CircleClient, build: number): Promise<Artifact[]> {
  const { project } = client;
  const missing = () => new CircleError(404, "BUILD_NOT_FOUND", `${client.remote.name}: CircleCI has no build ${build} of ${project.org}/${project.repo}`);
  if (client.api === "v1.1") {
    const artifacts = await getJson(client, v1Urls.artifacts(project, build), v1ArtifactsSchema, missing);
    return artifacts.map((a) => ({ path: a.path, nodeIndex: a.node_index, url: a.url }));
  }
  const artifacts: Artifact[] = [];
  for await (const page of pages(client, (token) => v2Urls.artifacts(project, build, token), v2ArtifactSchema, missing)) {
    artifacts.push(...page.map((a) => ({ path: a.path, nodeIndex: a.node_index, url: a.url })));
  }
  return artifacts;
}

/**
 * Recent finished builds, newest first, in batches (one API page each), so the caller can
 * stop as soon as it found what it wants. v2 has no build list: pipelines → workflows →
 * jobs, where only successful workflows are opened and `sha` narrows the pipelines.
 */
export async function* recentBuilds(client: CircleClient, options: { branch?: string; sha?: string }): AsyncGenerator<BuildSummary[]> {
  const { project, remote } = client;
  const missing = () => new CircleError(404, "PROJECT_NOT_FOUND", `${remote.name}: CircleCI has no project ${project.org}/${project.repo}`);
  if (client.api === "v1.1") {
    for (let offset = 0; offset < MAX_BUILDS_SCANNED; offset += V1_PAGE) {
      const url = v1Urls.recentBuilds(project, { branch: options.branch, limit: V1_PAGE, offset, filter: "successful" });
      const builds = await getJson(client, url, v1BuildsSchema, missing);
      yield builds.map((b) => ({ number: b.build_num, status: b.status, revision: b.vcs_revision ?? undefined, hasArtifacts: b.has_artifacts ?? undefined }));
      if (builds.length < V1_PAGE) return;
    }
    return;
  }
  let scanned = 0;
  for await (const pipelines of pages(client, (token) => v2Urls.pipelines(project, { branch: options.branch, pageToken: token }), v2PipelineSchema, missing)) {
    for (const pipeline of pipelines) {
      if (scanned++ >= MAX_PIPELINES_SCANNED) return;
      const revision = pipeline.vcs?.revision ?? undefined;
      if (options.sha && !(revision ?? "").toLowerCase().startsWith(options.sha)) continue;
      for await (const workflows of pages(client, (token) => v2Urls.workflows(project, pipeline.id, token), v2WorkflowSchema, missing)) {
        for (const workflow of workflows.filter((w) => w.status === "success")) {
          for await (const jobs of pages(client, (token) => v2Urls.jobs(project, workflow.id, token), v2JobSchema, missing)) {
            yield jobs.flatMap((job) => (typeof job.job_number === "number" ? [{ number: job.job_number, status: job.status, revision }] : []));
          }
        }
      }
    }
  }
}

/** The items of a v2 list, page by page (`next_page_token` → `page-token`). */
async function* pages<T extends z.ZodType>(
  client: CircleClient,
  urlFor: (pageToken: string | undefined) => URL,
  item: T,
  notFound: () => CircleError,
): AsyncGenerator<z.output<T>[]> {
  let token: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await getJson(client, urlFor(token), v2Page(item), notFound);
    yield body.items;
    if (!body.next_page_token) return;
    token = body.next_page_token;
  }
}

/** One API call, its failures turned into answers a user can act on. */
async function getJson<T extends z.ZodType>(client: CircleClient, url: URL, schema: T, notFound: () => CircleError): Promise<z.output<T>> {
  const name = client.remote.name;
  let response: Response;
  try {
    response = await httpUpstream(client.remote, client.env, url, { headers: { accept: "application/json" } }).fetch({ method: "GET" });
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    throw new CircleError(error.status, error.code, `${name}: CircleCI API: ${error.message}`);
  }
  if (response.status !== 200) await response.body?.cancel();
  switch (response.status) {
    case 200:
      break;
    case 401:
    case 403:
      throw new CircleError(502, "CIRCLECI_AUTH", `${name}: CircleCI refused the remote's API token (${response.status}); check the remote's token`);
    case 404:
      throw notFound();
    case 429: {
      const retryAfter = response.headers.get("retry-after");
      throw new CircleError(503, "CIRCLECI_RATE_LIMITED", `${name}: CircleCI is rate limiting the API`, retryAfter ? { "retry-after": retryAfter } : {});
    }
    default:
      throw new CircleError(502, "CIRCLECI_ERROR", `${name}: the CircleCI API answered ${response.status}`);
  }
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) throw new CircleError(502, "CIRCLECI_BAD_RESPONSE", `${name}: the CircleCI API answered in an unexpected shape`);
  return parsed.data;
}
