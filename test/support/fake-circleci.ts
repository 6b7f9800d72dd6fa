import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { LoopbackServer } from "./loopback-server.ts";

/** One job (v1.1: build) of a fake project. */
export interface FakeBuild {
  number: number;
  /** v1.1 build status / v2 job status; default "success". */
  status?: string;
  branch?: string;
  /** The commit; default: derived from the number. */
  revision?: string;
  /** v2: the pipeline this job ran in (one workflow per pipeline); default: its own number. */
  pipeline?: number;
  /** Artifact path → contents. */
  artifacts?: Record<string, Buffer | string>;
}

interface FakeProject {
  private: boolean;
  builds: FakeBuild[];
  /** Builds whose artifacts retention has deleted. */
  expired: Set<number>;
}

/**
 * A CircleCI API on loopback, answering in the documented v1.1 and v2 shapes: recent builds
 * (`/project/:vcs/:org/:repo[/tree/:branch]` with limit, offset, filter), artifact lists
 * (v1.1 array; v2 `{ items, next_page_token }`), `latest/artifacts`, v2 pipelines →
 * workflows → jobs, and artifact downloads under `/output/` that need the token for private
 * projects — on a host of their own, as CircleCI's artifact URLs are (`*.circle-artifacts.com`,
 * not the API's host). Tests change its data, make it rate-limit, or stop it.
 */
export class FakeCircleCI {
  readonly token = `circle-${createHash("sha256").update(String(Math.random())).digest("hex").slice(0, 24)}`;
  readonly requests: { path: string; query: string; token: string | undefined }[] = [];
  /** Set: every API and download request answers 429 with this Retry-After. */
  rateLimitRetryAfter: string | null = null;
  /** v2 list page size, small so tests walk `next_page_token`. */
  pageSize = 2;
  #projects = new Map<string, FakeProject>();
  readonly #server = new LoopbackServer((req, res) => this.#handle(req, res));
  readonly #artifactHost = new LoopbackServer((req, res) => this.#handle(req, res, "artifacts"));

  get url(): string {
    return this.#server.url;
  }

  project(org: string, repo: string, options: { private?: boolean } = {}): this {
    this.#projects.set(`${org}/${repo}`, { private: options.private ?? false, builds: [], expired: new Set() });
    return this;
  }

  build(org: string, repo: string, build: FakeBuild): this {
    this.#project(org, repo).builds.push(build);
    return this;
  }

  /** CircleCI's retention ran: the build lists no artifacts and their URLs answer 404. */
  expire(org: string, repo: string, number: number): void {
    this.#project(org, repo).expired.add(number);
  }

  /** API calls (not downloads) whose path starts with `prefix`. */
  count(prefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  async start(): Promise<this> {
    await Promise.all([this.#server.start(), this.#artifactHost.start()]);
    return this;
  }

  /** Down: connections refused until started again (on the same ports). */
  async stop(): Promise<void> {
    await Promise.all([this.#server.stop(), this.#artifactHost.stop()]);
  }

  #project(org: string, repo: string): FakeProject {
    const project = this.#projects.get(`${org}/${repo}`);
    if (!project) throw new Error(`fake CircleCI: no project ${org}/${repo}`);
    return project;
  }

  #handle(req: IncomingMessage, res: ServerResponse, host: "api" | "artifacts" = "api"): void {
    const url = new URL(req.url ?? "/", "http://fake");
    const token = header(req, "circle-token");
    this.requests.push({ path: url.pathname, query: url.search, token });
    if (this.rateLimitRetryAfter !== null) {
      return json(res, 429, { message: "Rate limit exceeded" }, { "retry-after": this.rateLimitRetryAfter });
    }
    const segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (host === "artifacts") return segments[0] === "output" ? this.#download(res, segments.slice(1), token) : json(res, 404, { message: "Not found" });
    if (token !== undefined && token !== this.token) return json(res, 401, { message: "Invalid token provided." });
    const authorized = token === this.token;
    const [api, version, ...rest] = segments;
    if (api !== "api") return json(res, 404, { message: "Not found" });
    if (version === "v1.1") return this.#v1(res, rest, url.searchParams, authorized);
    if (version === "v2") return this.#v2(res, rest, url.searchParams, authorized);
    json(res, 404, { message: "Not found" });
  }

  /** The project a request names, or null (private projects look absent without the token, as on CircleCI). */
  #visible(org: string | undefined, repo: string | undefined, authorized: boolean): (FakeProject & { org: string; repo: string }) | null {
    const project = this.#projects.get(`${org}/${repo}`);
    if (!project || (project.private && !authorized)) return null;
    return { ...project, org: org!, repo: repo! };
  }

  #v1(res: ServerResponse, rest: string[], query: URLSearchParams, authorized: boolean): void {
    const [kind, vcs, org, repo, ...tail] = rest;
    const project = kind === "project" && ["github", "bitbucket", "gh", "bb"].includes(vcs ?? "") ? this.#visible(org, repo, authorized) : null;
    if (!project) return json(res, 404, { message: "Project not found" });
    const newestFirst = [...project.builds].sort((a, b) => b.number - a.number);

    if (tail.length === 0 || (tail.length === 2 && tail[0] === "tree")) {
      const branch = tail[1];
      const limit = Math.min(Number(query.get("limit") ?? 30), 100);
      const offset = Number(query.get("offset") ?? 0);
      const builds = newestFirst.filter((b) => (branch === undefined || branchOf(b) === branch) && matchesFilter(b, query.get("filter")));
      return json(res, 200, builds.slice(offset, offset + limit).map((b) => this.#v1Summary(project, b, vcs!)));
    }
    if (tail.length === 2 && tail[1] === "artifacts") {
      const build =
        tail[0] === "latest"
          ? newestFirst.find((b) => (!query.get("branch") || branchOf(b) === query.get("branch")) && matchesFilter(b, query.get("filter") ?? "completed"))
          : project.builds.find((b) => String(b.number) === tail[0]);
      if (!build) return json(res, 404, { message: "Build not found" });
      return json(
        res,
        200,
        this.#artifacts(project, build).map((a) => ({ path: a.path, pretty_path: a.path, node_index: 0, url: a.url })),
      );
    }
    json(res, 404, { message: "Not found" });
  }

  #v1Summary(project: FakeProject & { org: string; repo: string }, build: FakeBuild, vcs: string) {
    const status = statusOf(build);
    return {
      vcs_url: `https://github.com/${project.org}/${project.repo}`,
      build_url: `https://circleci.com/${vcs}/${project.org}/${project.repo}/${build.number}`,
      build_num: build.number,
      branch: branchOf(build),
      vcs_revision: revisionOf(build),
      committer_name: "Ada",
      subject: `commit ${build.number}`,
      status,
      outcome: status === "running" ? null : status === "fixed" ? "success" : status,
      lifecycle: status === "running" ? "running" : "finished",
      has_artifacts: Object.keys(build.artifacts ?? {}).length > 0,
      username: project.org,
      reponame: project.repo,
      workflows: { workflow_name: "build-deploy", job_name: Object.keys(build.artifacts ?? {}).length > 0 ? "build" : "deploy" },
    };
  }

  #v2(res: ServerResponse, rest: string[], query: URLSearchParams, authorized: boolean): void {
    const [kind, ...tail] = rest;
    if (kind === "project") {
      const [vcs, org, repo, ...what] = tail;
      const project = ["gh", "bb", "circleci"].includes(vcs ?? "") ? this.#visible(org, repo, authorized) : null;
      if (!project) return json(res, 404, { message: "Project not found" });
      if (what.length === 1 && what[0] === "pipeline") {
        const branch = query.get("branch");
        const pipelines = [...groupBy(project.builds, pipelineOf).entries()]
          .filter(([, jobs]) => !branch || branchOf(jobs[0]!) === branch)
          .sort(([a], [b]) => b - a)
          .map(([number, jobs]) => ({
            id: pipelineId(project, number),
            errors: [],
            project_slug: `${vcs}/${org}/${repo}`,
            updated_at: "2026-11-03T10:00:00.000Z",
            number,
            state: "created",
            created_at: "2026-11-03T10:00:00.000Z",
            trigger: { type: "webhook", received_at: "2026-11-03T10:00:00.000Z", actor: { login: "ada", avatar_url: null } },
            vcs: { provider_name: "GitHub", origin_repository_url: `https://github.com/${org}/${repo}`, target_repository_url: `https://github.com/${org}/${repo}`, revision: revisionOf(jobs[0]!), branch: branchOf(jobs[0]!) },
          }));
        return this.#page(res, pipelines, query);
      }
      if (what.length === 2 && what[1] === "artifacts") {
        const build = project.builds.find((b) => String(b.number) === what[0]);
        if (!build) return json(res, 404, { message: "Job not found" });
        return this.#page(res, this.#artifacts(project, build).map((a) => ({ path: a.path, node_index: 0, url: a.url })), query);
      }
      return json(res, 404, { message: "Not found" });
    }
    // Pipeline and workflow ids carry their project, so the token check sees whose they are.
    const [id, list] = tail;
    const found = this.#byId(id ?? "", authorized);
    if (!found) return json(res, 404, { message: "Not found" });
    const { project, pipeline } = found;
    const jobs = project.builds.filter((b) => pipelineOf(b) === pipeline).sort((a, b) => a.number - b.number);
    if (kind === "pipeline" && list === "workflow") {
      const statuses = jobs.map(statusOf);
      const status = statuses.every((s) => s === "success" || s === "fixed") ? "success" : statuses.includes("running") ? "running" : "failed";
      const workflow = { pipeline_id: pipelineId(project, pipeline), id: workflowId(project, pipeline), name: "build-deploy", project_slug: `gh/${project.org}/${project.repo}`, status, started_by: "ada", pipeline_number: pipeline, created_at: "2026-11-03T10:00:00Z", stopped_at: "2026-11-03T10:05:00Z" };
      return this.#page(res, [workflow], query);
    }
    if (kind === "workflow" && list === "job") {
      const items: Record<string, unknown>[] = jobs.map((b) => ({
        dependencies: [],
        job_number: b.number,
        id: `job-${b.number}`,
        started_at: "2026-11-03T10:00:00Z",
        name: Object.keys(b.artifacts ?? {}).length > 0 ? "build" : "deploy",
        project_slug: `gh/${project.org}/${project.repo}`,
        status: statusOf(b),
        type: "build",
        stopped_at: "2026-11-03T10:05:00Z",
      }));
      // An approval job, which has no job number, as real workflows often have.
      items.push({ dependencies: [], id: `approval-${pipeline}`, name: "hold", project_slug: `gh/${project.org}/${project.repo}`, status: "success", type: "approval" });
      return this.#page(res, items, query);
    }
    json(res, 404, { message: "Not found" });
  }

  #byId(id: string, authorized: boolean): { project: FakeProject & { org: string; repo: string }; pipeline: number } | null {
    const match = /^(?:pipeline|workflow)~(.+)~(.+)~(\d+)$/.exec(id);
    const project = match ? this.#visible(match[1], match[2], authorized) : null;
    return project ? { project, pipeline: Number(match![3]) } : null;
  }

  /** A v2 page: `page-token` in, `next_page_token` out (null on the last page). */
  #page(res: ServerResponse, items: unknown[], query: URLSearchParams): void {
    const offset = query.get("page-token") ? Number(Buffer.from(query.get("page-token")!, "base64url").toString()) : 0;
    const next = offset + this.pageSize < items.length ? Buffer.from(String(offset + this.pageSize)).toString("base64url") : null;
    json(res, 200, { items: items.slice(offset, offset + this.pageSize), next_page_token: next });
  }

  #artifacts(project: FakeProject & { org: string; repo: string }, build: FakeBuild): { path: string; url: string }[] {
    if (project.expired.has(build.number)) return [];
    return Object.keys(build.artifacts ?? {}).map((path) => ({
      path,
      url: `${this.#artifactHost.url}/output/job/${project.org}/${project.repo}/${build.number}/artifacts/0/${path.split("/").map(encodeURIComponent).join("/")}`,
    }));
  }

  #download(res: ServerResponse, segments: string[], token: string | undefined): void {
    const [job, org, repo, number, artifacts, node, ...path] = segments;
    const project = this.#projects.get(`${org}/${repo}`);
    if (job !== "job" || artifacts !== "artifacts" || node !== "0" || !project) return json(res, 404, { message: "Not found" });
    if (project.private && token !== this.token) return json(res, 401, { message: "You must log in first." });
    const build = project.builds.find((b) => String(b.number) === number);
    const body = build && !project.expired.has(build.number) ? build.artifacts?.[path.join("/")] : undefined;
    if (body === undefined) return json(res, 404, { message: "Not found" });
    const bytes = Buffer.from(body);
    // The storage behind CircleCI labels everything as a binary stream.
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes.length) }).end(bytes);
  }
}

const branchOf = (b: FakeBuild) => b.branch ?? "main";
const statusOf = (b: FakeBuild) => b.status ?? "success";
const pipelineOf = (b: FakeBuild) => b.pipeline ?? b.number;
export const revisionOf = (b: FakeBuild) => b.revision ?? createHash("sha1").update(`commit-${b.number}`).digest("hex");
const pipelineId = (p: { org: string; repo: string }, n: number) => `pipeline~${p.org}~${p.repo}~${n}`;
const workflowId = (p: { org: string; repo: string }, n: number) => `workflow~${p.org}~${p.repo}~${n}`;

/** v1.1 `filter`: completed, successful, failed, running. */
function matchesFilter(build: FakeBuild, filter: string | null): boolean {
  const status = statusOf(build);
  switch (filter) {
    case null:
      return true;
    case "successful":
      return status === "success" || status === "fixed";
    case "failed":
      return status === "failed";
    case "running":
      return status === "running";
    default:
      return status !== "running";
  }
}

function groupBy<T>(items: T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}
