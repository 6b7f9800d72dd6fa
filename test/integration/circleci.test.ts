import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeCircleCI, revisionOf } from "../support/fake-circleci.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/**
 * CircleCI artifacts (issue 6) through the proxy as `npm start` runs it, against a fake
 * CircleCI that answers in the documented v1.1 and v2 shapes.
 */
describe("circleci artifacts", () => {
  const circle = new FakeCircleCI();
  const names = { v1: uniqueName("cci"), v2: uniqueName("cci2"), bad: uniqueName("cci-bad"), limited: uniqueName("cci-only") };
  const host = `${names.v1}.dl.example.test`;
  const zip = randomBytes(64 * 1024);
  const pdf = `%PDF-1.7 handbook build 100 ${"x".repeat(2000)}`;
  let stack: TestStack;

  const url = (remote: keyof typeof names, path: string) => `${stack.url}/api/v1/remote/${names[remote]}/${path}`;
  const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string; artifacts?: string[] } }).error;

  beforeAll(async () => {
    await circle.start();
    circle
      .project("acme", "handbook")
      // Pipeline 100: the build job stored the handbook; the deploy job after it stored only its
      // own log, so only the file itself tells `latest` to pass it by (has_artifacts is true).
      .build("acme", "handbook", {
        number: 100,
        artifacts: { "handbook.pdf": pdf, "dist/app.zip": zip, "docs/nested/guide.txt": "read me\n", "site/index.html": "<script>alert(1)</script>" },
      })
      .build("acme", "handbook", { number: 101, pipeline: 100, artifacts: { "deploy.log": "deployed\n" } })
      // A newer failed build that did store the file.
      .build("acme", "handbook", { number: 102, status: "failed", artifacts: { "handbook.pdf": "broken" } })
      // A newer build on another branch.
      .build("acme", "handbook", { number: 103, branch: "feature/x", artifacts: { "handbook.pdf": "feature handbook" } })
      .project("acme", "secret", { private: true })
      .build("acme", "secret", { number: 5, artifacts: { "report.pdf": "private report" } });
    const base = { base_url: circle.url, allow_private_network: true, package: "circleci", branch: "main" };
    stack = await startTestStack({
      remotes: {
        [names.v1]: { ...base, token: circle.token, hostnames: [host] },
        [names.v2]: { ...base, api: "v2", token_env: "CIRCLE_TOKEN_FOR_TESTS" },
        [names.bad]: { ...base, token: "not-the-token" },
        [names.limited]: { ...base, patterns: ["^acme/handbook/"] },
      },
      // The mapped hostname is sent as X-Forwarded-Host (fetch cannot set Host), as a load balancer would.
      env: { CIRCLE_TOKEN_FOR_TESTS: circle.token, TRUST_FORWARDED: "true" },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await circle.stop();
  });

  it("serves a build number's artifact inline with its build in a header", async () => {
    const response = await fetch(url("v1", "acme/handbook/100/handbook.pdf"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(response.headers.get("content-disposition")).toMatch(/^inline; filename="handbook.pdf"/);
    expect(response.headers.get("x-circleci-build")).toBe("100");
    expect(await response.text()).toBe(pdf);
  });

  it("serves archives as attachments, nested paths, and HTML as text", async () => {
    const archive = await fetch(url("v1", "acme/handbook/100/dist/app.zip"));
    expect(archive.status).toBe(200);
    expect(archive.headers.get("content-type")).toBe("application/zip");
    expect(archive.headers.get("content-disposition")).toMatch(/^attachment; filename="app.zip"/);
    expect(Buffer.from(await archive.arrayBuffer()).equals(zip)).toBe(true);

    const nested = await fetch(url("v1", "acme/handbook/100/docs/nested/guide.txt"));
    expect(nested.headers.get("content-disposition")).toMatch(/^inline/);
    expect(await nested.text()).toBe("read me\n");

    const html = await fetch(url("v1", "acme/handbook/100/site/index.html"));
    expect(html.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(html.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("resolves latest to the newest successful build on the branch that has the artifact", async () => {
    const response = await fetch(url("v1", "acme/handbook/latest/handbook.pdf"));
    expect(response.status).toBe(200);
    // 101 (successful, with artifacts, but not this one), 102 (failed) and 103 (another branch) are newer.
    expect(response.headers.get("x-circleci-build")).toBe("100");
    expect(await response.text()).toBe(pdf);

    const before = circle.requests.length;
    const again = await fetch(url("v1", "acme/handbook/latest/handbook.pdf"));
    expect(again.headers.get("x-circleci-build")).toBe("100");
    expect(again.headers.get("x-artifact-source")).toBe("cache");
    await again.arrayBuffer();
    expect(circle.requests.length).toBe(before);
  });

  it("takes the branch for latest from ?branch=", async () => {
    const response = await fetch(url("v1", "acme/handbook/latest/handbook.pdf?branch=feature/x"));
    expect(response.headers.get("x-circleci-build")).toBe("103");
    expect(await response.text()).toBe("feature handbook");
  });

  it("resolves a commit SHA", async () => {
    const sha = revisionOf({ number: 100 }).slice(0, 10);
    const response = await fetch(url("v1", `acme/handbook/${sha}/handbook.pdf`));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-circleci-build")).toBe("100");
    await response.arrayBuffer();
  });

  it("answers 404 listing what the build has when the artifact is missing", async () => {
    const response = await fetch(url("v1", "acme/handbook/100/handbook.epub"));
    expect(response.status).toBe(404);
    const error = await errorOf(response);
    expect(error.code).toBe("ARTIFACT_NOT_FOUND");
    expect(error.artifacts).toEqual(["dist/app.zip", "docs/nested/guide.txt", "handbook.pdf", "site/index.html"]);
  });

  it("answers 404 for an unknown project or build", async () => {
    const project = await fetch(url("v1", "acme/nothing/latest/handbook.pdf"));
    expect(project.status).toBe(404);
    expect((await errorOf(project)).code).toBe("PROJECT_NOT_FOUND");
    const build = await fetch(url("v1", "acme/handbook/999/handbook.pdf"));
    expect(build.status).toBe(404);
    expect((await errorOf(build)).code).toBe("BUILD_NOT_FOUND");
    const none = await fetch(url("v1", "acme/handbook/latest/never.pdf"));
    expect(none.status).toBe(404);
  });

  it("sends the token to the API and the artifact URL of a private project", async () => {
    const response = await fetch(url("v1", "acme/secret/5/report.pdf"));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("private report");
    expect(circle.requests.find((r) => r.path.startsWith("/output/job/acme/secret/"))?.token).toBe(circle.token);
  });

  it("answers a bad token with 502 naming the remote, never the token", async () => {
    const response = await fetch(url("bad", "acme/secret/5/report.pdf"));
    expect(response.status).toBe(502);
    const body = await response.text();
    expect(body).toContain(names.bad);
    expect(body).toContain("CIRCLECI_AUTH");
    expect(body).not.toContain("not-the-token");

    const listing = await (await fetch(`${stack.url}/`)).text();
    expect(listing).toContain(names.v1);
    expect(listing).not.toContain(circle.token);
    expect(listing).not.toContain("not-the-token");
  });

  it("limits orgs and projects with patterns", async () => {
    expect((await fetch(url("limited", "acme/secret/5/report.pdf"))).status).toBe(403);
    expect((await fetch(url("limited", "acme/handbook/100/docs/nested/guide.txt"))).status).toBe(200);
  });

  it("serves the original Rust proxy's URL shape on a mapped hostname", async () => {
    const response = await fetch(`${stack.url}/acme/handbook/latest/handbook.pdf`, { headers: { "x-forwarded-host": host } });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-circleci-build")).toBe("100");
    await response.arrayBuffer();
  });

  describe("API v2 (pipelines → workflows → jobs, paginated)", () => {
    it("resolves latest past a deploy job without this artifact and a failed pipeline", async () => {
      const response = await fetch(url("v2", "acme/handbook/latest/handbook.pdf"));
      expect(response.status).toBe(200);
      expect(response.headers.get("x-circleci-build")).toBe("100");
      expect(await response.text()).toBe(pdf);
      expect(circle.count("/api/v2/project/gh/acme/handbook/pipeline")).toBeGreaterThan(0);
    });

    it("reads artifact lists across pages, and resolves branches and commits", async () => {
      // Four artifacts, two a page: this one is on the second page.
      const nested = await fetch(url("v2", "acme/handbook/100/site/index.html"));
      expect(nested.status).toBe(200);
      await nested.arrayBuffer();

      const feature = await fetch(url("v2", "acme/handbook/latest/handbook.pdf?branch=feature/x"));
      expect(feature.headers.get("x-circleci-build")).toBe("103");
      await feature.arrayBuffer();

      const sha = await fetch(url("v2", `acme/handbook/${revisionOf({ number: 103 })}/handbook.pdf`));
      expect(sha.headers.get("x-circleci-build")).toBe("103");
      await sha.arrayBuffer();

      // The token comes from token_env here, and private projects need it.
      const secret = await fetch(url("v2", "acme/secret/latest/report.pdf"));
      expect(secret.status).toBe(200);
      expect(await secret.text()).toBe("private report");
    });
  });

  it("passes CircleCI's rate limit on as 503 with Retry-After", async () => {
    circle.rateLimitRetryAfter = "17";
    try {
      const response = await fetch(url("v1", "acme/handbook/777/handbook.pdf"));
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("17");
      expect((await errorOf(response)).code).toBe("CIRCLECI_RATE_LIMITED");
    } finally {
      circle.rateLimitRetryAfter = null;
    }
  });

  it("keeps serving a cached artifact after CircleCI deleted it, and while CircleCI is down", async () => {
    circle.expire("acme", "handbook", 100);
    const expired = await fetch(url("v1", "acme/handbook/100/handbook.pdf"));
    expect(expired.status).toBe(200);
    expect(await expired.text()).toBe(pdf);

    await circle.stop();
    try {
      for (const path of ["acme/handbook/100/dist/app.zip", "acme/handbook/latest/handbook.pdf"]) {
        const response = await fetch(url("v1", path));
        expect(response.status).toBe(200);
        expect(response.headers.get("x-circleci-build")).toBe("100");
        await response.arrayBuffer();
      }
      const v2 = await fetch(url("v2", "acme/handbook/latest/handbook.pdf"));
      expect(v2.status).toBe(200);
      await v2.arrayBuffer();
    } finally {
      await circle.start();
    }
  });
});
