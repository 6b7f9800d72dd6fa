import { z } from "zod";
import type { Provider } from "./types.ts";

/**
 * CircleCI build artifacts behind stable links: `{org}/{repo}/{build}/{artifact path}`, where
 * `{build}` is a build (v2: job) number, `latest`, or a commit SHA. The I/O lives in
 * functions/circleci/; this module is the pure part: URL parsing, API URLs and response
 * shapes, picking builds, and how browsers should show a file.
 */
export const circleci: Provider = {
  type: "circleci",
  // Paths name a build; the route resolves `latest` and SHAs to numbers before caching.
  classify: () => ({ kind: "immutable", reason: "an artifact of a numbered build never changes" }),
  cacheKey: (path) => path,
};

export type BuildRef = { kind: "number"; number: number } | { kind: "latest" } | { kind: "commit"; sha: string };

export interface ArtifactRequest {
  org: string;
  repo: string;
  build: BuildRef;
  /** The artifact's path inside the build; may contain slashes. */
  artifactPath: string;
}

/** Parses `{org}/{repo}/{build}/{artifact path}`; null when it is not that shape. */
export function parseArtifactRequest(path: string): ArtifactRequest | null {
  const [org, repo, build, ...rest] = path.split("/");
  const artifactPath = rest.join("/");
  if (!org || !repo || !build || !artifactPath || rest.some((segment) => segment === "")) return null;
  const ref = parseBuildRef(build);
  return ref ? { org, repo, build: ref, artifactPath } : null;
}

/**
 * A build number, `latest`, or a commit SHA (7–40 hex digits). All-digit strings are build
 * numbers: a SHA prefix of only digits is too ambiguous to honour.
 */
export function parseBuildRef(segment: string): BuildRef | null {
  if (segment === "latest") return { kind: "latest" };
  if (/^\d{1,12}$/.test(segment)) return { kind: "number", number: Number(segment) };
  if (/^[0-9a-f]{7,40}$/i.test(segment)) return { kind: "commit", sha: segment.toLowerCase() };
  return null;
}

export type ApiVersion = "v1.1" | "v2";
export type Vcs = "gh" | "bb" | "circleci" | "github" | "bitbucket";

export interface Project {
  /** The remote's base_url: CircleCI's root (`https://circleci.com`), not its API path. */
  baseUrl: string;
  vcs: Vcs;
  org: string;
  repo: string;
}

/** v1.1 spells the VCS out; v2 project slugs use the short form. */
const v1Vcs: Record<Vcs, string> = { gh: "github", github: "github", bb: "bitbucket", bitbucket: "bitbucket", circleci: "circleci" };
const v2Vcs: Record<Vcs, string> = { gh: "gh", github: "gh", bb: "bb", bitbucket: "bb", circleci: "circleci" };

const root = (project: Project) => project.baseUrl.replace(/\/+$/, "");
const enc = encodeURIComponent;

export const v1Urls = {
  projectPath: (p: Project) => `${root(p)}/api/v1.1/project/${v1Vcs[p.vcs]}/${enc(p.org)}/${enc(p.repo)}`,
  /** Recent builds, newest first; `branch` narrows to one branch (`/tree/:branch`). */
  recentBuilds(p: Project, options: { branch?: string; limit: number; offset: number; filter?: "successful" | "completed" }): URL {
    const url = new URL(options.branch ? `${this.projectPath(p)}/tree/${enc(options.branch)}` : this.projectPath(p));
    url.searchParams.set("limit", String(options.limit));
    url.searchParams.set("offset", String(options.offset));
    if (options.filter) url.searchParams.set("filter", options.filter);
    return url;
  },
  artifacts: (p: Project, build: number) => new URL(`${v1Urls.projectPath(p)}/${build}/artifacts`),
};

export const v2Urls = {
  slug: (p: Project) => `${v2Vcs[p.vcs]}/${enc(p.org)}/${enc(p.repo)}`,
  pipelines(p: Project, options: { branch?: string; pageToken?: string }): URL {
    const url = new URL(`${root(p)}/api/v2/project/${this.slug(p)}/pipeline`);
    if (options.branch) url.searchParams.set("branch", options.branch);
    if (options.pageToken) url.searchParams.set("page-token", options.pageToken);
    return url;
  },
  workflows: (p: Project, pipelineId: string, pageToken?: string) => withPage(`${root(p)}/api/v2/pipeline/${enc(pipelineId)}/workflow`, pageToken),
  jobs: (p: Project, workflowId: string, pageToken?: string) => withPage(`${root(p)}/api/v2/workflow/${enc(workflowId)}/job`, pageToken),
  artifacts: (p: Project, job: number, pageToken?: string) => withPage(`${root(p)}/api/v2/project/${v2Urls.slug(p)}/${job}/artifacts`, pageToken),
};

function withPage(base: string, pageToken: string | undefined): URL {
  const url = new URL(base);
  if (pageToken) url.searchParams.set("page-token", pageToken);
  return url;
}

// --- API response shapes (only the fields the proxy reads; CircleCI sends many more) ---

export const v1ArtifactsSchema = z.array(
  z.object({ path: z.string(), pretty_path: z.string().optional(), node_index: z.number().int(), url: z.url() }),
);

export const v1BuildsSchema = z.array(
  z.object({
    build_num: z.number().int(),
    status: z.string(),
    branch: z.string().nullish(),
    vcs_revision: z.string().nullish(),
    has_artifacts: z.boolean().nullish(),
  }),
);

/** v2 list endpoints: `{ items, next_page_token }` (null on the last page). */
export const v2Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_page_token: z.string().nullish() });

export const v2ArtifactSchema = z.object({ path: z.string(), node_index: z.number().int(), url: z.url() });
export const v2PipelineSchema = z.object({
  id: z.string(),
  number: z.number().int(),
  vcs: z.object({ revision: z.string().nullish(), branch: z.string().nullish() }).nullish(),
});
export const v2WorkflowSchema = z.object({ id: z.string(), status: z.string() });
/** Approval jobs have no job_number. */
export const v2JobSchema = z.object({ job_number: z.number().int().nullish(), status: z.string(), type: z.string().nullish() });

export interface Artifact {
  path: string;
  nodeIndex: number;
  url: string;
}

/** A finished build as the resolver compares them, whichever API it came from. */
export interface BuildSummary {
  number: number;
  status: string;
  revision?: string;
  /** False when CircleCI says the build stored nothing (v1.1 `has_artifacts`); unknown otherwise. */
  hasArtifacts?: boolean;
}

/** `fixed` is a success that follows a failure. */
export function isSuccessful(status: string): boolean {
  return status === "success" || status === "fixed";
}

/**
 * The builds worth asking for their artifacts, newest first: successful, matching the commit
 * when one is asked for, and not known to be empty.
 */
export function candidateBuilds(builds: BuildSummary[], sha?: string): BuildSummary[] {
  return builds
    .filter((build) => isSuccessful(build.status) && build.hasArtifacts !== false)
    .filter((build) => sha === undefined || (build.revision ?? "").toLowerCase().startsWith(sha))
    .sort((a, b) => b.number - a.number);
}

/** The artifact at a path (parallel nodes may each store one: the lowest node wins). */
export function findArtifact(artifacts: Artifact[], path: string): Artifact | undefined {
  const wanted = path.replace(/^\/+/, "");
  return artifacts
    .filter((artifact) => artifact.path.replace(/^\/+/, "") === wanted)
    .sort((a, b) => a.nodeIndex - b.nodeIndex)[0];
}

/** Paths a build has, for the "no such artifact" answer. */
export function artifactPaths(artifacts: Artifact[]): string[] {
  return [...new Set(artifacts.map((artifact) => artifact.path.replace(/^\/+/, "")))].sort();
}

const typesByExtension: [RegExp, string][] = [
  [/\.pdf$/i, "application/pdf"],
  [/\.png$/i, "image/png"],
  [/\.jpe?g$/i, "image/jpeg"],
  [/\.gif$/i, "image/gif"],
  [/\.webp$/i, "image/webp"],
  [/\.json$/i, "application/json"],
  [/\.(txt|log|asc|sha256|sha512|md5)$/i, "text/plain; charset=utf-8"],
  [/\.md$/i, "text/markdown; charset=utf-8"],
  [/\.csv$/i, "text/csv; charset=utf-8"],
  // HTML would run its scripts on the proxy's origin: shown as source text. (SVG, which can
  // carry script too, is left to the generic guess and so downloaded.)
  [/\.(html?|xhtml)$/i, "text/plain; charset=utf-8"],
];

/**
 * How the browser should get a file: its type from the name (the storage behind CircleCI
 * often says octet-stream), and inline for what browsers show, attachment for the rest.
 * Null type = let the generic name-based guess decide (archives, binaries).
 */
export function presentation(path: string): { contentType: string | null; disposition: "inline" | "attachment" } {
  const type = typesByExtension.find(([pattern]) => pattern.test(path))?.[1] ?? null;
  return { contentType: type, disposition: type ? "inline" : "attachment" };
}
