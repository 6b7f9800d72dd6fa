import { describe, expect, it } from "vitest";
import {
  artifactPaths,
  candidateBuilds,
  findArtifact,
  parseArtifactRequest,
  presentation,
  v1ArtifactsSchema,
  v1BuildsSchema,
  v1Urls,
  v2Page,
  v2PipelineSchema,
  v2Urls,
  type Project,
} from "../../../providers/circleci.ts";

const project: Project = { baseUrl: "https://circleci.com/", vcs: "gh", org: "acme", repo: "handbook" };

describe("circleci URL parsing", () => {
  it("splits org, repo, build number and a nested artifact path", () => {
    expect(parseArtifactRequest("acme/handbook/123/docs/out/handbook.pdf")).toEqual({
      org: "acme",
      repo: "handbook",
      build: { kind: "number", number: 123 },
      artifactPath: "docs/out/handbook.pdf",
    });
  });

  it("knows latest and commit SHAs of 7 to 40 hex digits", () => {
    expect(parseArtifactRequest("acme/handbook/latest/a.pdf")?.build).toEqual({ kind: "latest" });
    expect(parseArtifactRequest("acme/handbook/ABCDEF1/a.pdf")?.build).toEqual({ kind: "commit", sha: "abcdef1" });
    expect(parseArtifactRequest(`acme/handbook/${"f".repeat(40)}/a.pdf`)?.build).toEqual({ kind: "commit", sha: "f".repeat(40) });
  });

  it("refuses what is not a build or has no artifact path", () => {
    expect(parseArtifactRequest("acme/handbook/abc/a.pdf")).toBeNull();
    expect(parseArtifactRequest(`acme/handbook/${"a".repeat(41)}/a.pdf`)).toBeNull();
    expect(parseArtifactRequest("acme/handbook/12")).toBeNull();
    expect(parseArtifactRequest("acme/handbook/12/")).toBeNull();
    expect(parseArtifactRequest("acme/handbook/12/a//b")).toBeNull();
  });
});

describe("circleci API URLs", () => {
  it("builds v1.1 URLs with the long VCS name and an encoded branch", () => {
    expect(v1Urls.artifacts(project, 7).href).toBe("https://circleci.com/api/v1.1/project/github/acme/handbook/7/artifacts");
    expect(v1Urls.recentBuilds(project, { branch: "release/2.x", limit: 30, offset: 30, filter: "successful" }).href).toBe(
      "https://circleci.com/api/v1.1/project/github/acme/handbook/tree/release%2F2.x?limit=30&offset=30&filter=successful",
    );
    expect(v1Urls.recentBuilds({ ...project, vcs: "bb" }, { limit: 5, offset: 0 }).pathname).toBe("/api/v1.1/project/bitbucket/acme/handbook");
  });

  it("builds v2 URLs with the project slug and page tokens", () => {
    expect(v2Urls.pipelines(project, { branch: "main", pageToken: "abc" }).href).toBe(
      "https://circleci.com/api/v2/project/gh/acme/handbook/pipeline?branch=main&page-token=abc",
    );
    expect(v2Urls.artifacts({ ...project, vcs: "github" }, 42).href).toBe("https://circleci.com/api/v2/project/gh/acme/handbook/42/artifacts");
    expect(v2Urls.jobs(project, "wf-1", "next").href).toBe("https://circleci.com/api/v2/workflow/wf-1/job?page-token=next");
  });
});

describe("circleci API shapes", () => {
  it("reads v1.1 artifact lists and build summaries as documented", () => {
    const artifacts = v1ArtifactsSchema.parse([
      { path: "handbook.pdf", pretty_path: "handbook.pdf", node_index: 0, url: "https://output.circle-artifacts.com/output/job/x/artifacts/0/handbook.pdf" },
    ]);
    expect(artifacts[0]!.node_index).toBe(0);
    const builds = v1BuildsSchema.parse([{ build_num: 9, status: "fixed", branch: "main", vcs_revision: "abc", has_artifacts: true, lifecycle: "finished" }]);
    expect(builds[0]!.build_num).toBe(9);
  });

  it("reads v2 pages, with a null token on the last page", () => {
    const page = v2Page(v2PipelineSchema).parse({ items: [{ id: "p1", number: 3, state: "created", vcs: { revision: "abc", branch: "main" } }], next_page_token: null });
    expect(page.items[0]!.vcs?.revision).toBe("abc");
    expect(() => v2Page(v2PipelineSchema).parse({ items: [{ number: 3 }] })).toThrow();
  });
});

describe("circleci build choice", () => {
  const builds = [
    { number: 10, status: "success", hasArtifacts: false, revision: "aaa111" },
    { number: 12, status: "failed", hasArtifacts: true, revision: "ccc333" },
    { number: 8, status: "fixed", hasArtifacts: true, revision: "bbb222" },
    { number: 11, status: "success", revision: "ddd444" },
  ];

  it("keeps successful builds not known to be empty, newest first", () => {
    expect(candidateBuilds(builds).map((b) => b.number)).toEqual([11, 8]);
  });

  it("narrows to a commit by SHA prefix", () => {
    expect(candidateBuilds(builds, "bbb2").map((b) => b.number)).toEqual([8]);
    expect(candidateBuilds(builds, "ccc3")).toEqual([]);
  });

  it("finds an artifact by path, lowest node first, and lists the paths a build has", () => {
    const artifacts = [
      { path: "dist/app.zip", nodeIndex: 1, url: "https://a/1" },
      { path: "dist/app.zip", nodeIndex: 0, url: "https://a/0" },
      { path: "/handbook.pdf", nodeIndex: 0, url: "https://a/pdf" },
    ];
    expect(findArtifact(artifacts, "dist/app.zip")?.url).toBe("https://a/0");
    expect(findArtifact(artifacts, "handbook.pdf")?.url).toBe("https://a/pdf");
    expect(findArtifact(artifacts, "dist/other.zip")).toBeUndefined();
    expect(artifactPaths(artifacts)).toEqual(["dist/app.zip", "handbook.pdf"]);
  });
});

describe("circleci presentation", () => {
  it("shows PDFs, images and text inline, HTML as text", () => {
    expect(presentation("out/handbook.pdf")).toEqual({ contentType: "application/pdf", disposition: "inline" });
    expect(presentation("shot.PNG")).toEqual({ contentType: "image/png", disposition: "inline" });
    expect(presentation("build.log").disposition).toBe("inline");
    expect(presentation("coverage/index.html")).toEqual({ contentType: "text/plain; charset=utf-8", disposition: "inline" });
  });

  it("downloads archives, binaries and SVG", () => {
    expect(presentation("dist/app.zip")).toEqual({ contentType: null, disposition: "attachment" });
    expect(presentation("app.exe").disposition).toBe("attachment");
    expect(presentation("logo.svg").disposition).toBe("attachment");
  });
});
