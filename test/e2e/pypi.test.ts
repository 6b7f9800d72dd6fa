import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const PYPI_JSON = "application/vnd.pypi.simple.v1+json";
const INDEX_HOST = "pypi.example.org";
const FILES_HOST = "files.example.org";
/** The same index under another name, answering HTML whatever is asked (a plain PEP 503 server). */
const HTML_INDEX_HOST = "html-index.example.org";

/**
 * pip against the proxy, shaped like pypi.org: the index on one host, the files on another that
 * the remote is not told about (every file an index links is proxied), both real loopback
 * servers the Worker reaches under public-looking names. Like a real index it answers
 * conditional requests (ETag, or only Last-Modified as a static tree does) and redirects a file
 * it links on its own host to the file host. pip asks for PEP 691 JSON first; a second remote's
 * upstream answers PEP 503 HTML only; a third is the first made private.
 */
describe("pypi through the proxy with pip", () => {
  const index = new Origin();
  const files = new Origin();
  const remote = uniqueName("pypi");
  const htmlRemote = uniqueName("pypi-html");
  /** The same index as a private remote: pip sends the read token as its Basic-auth password. */
  const privateRemote = uniqueName("pypi-private");
  const readToken = `read-${createHash("sha256").update(privateRemote).digest("hex").slice(0, 16)}`;
  let work: string;
  let stack: TestStack;
  let wheel: Buffer;
  let sdist: Buffer;

  const simple = (name = remote) => `${stack.url}/api/v1/remote/${name}/simple/`;
  const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

  /** pip with this machine's configuration neutralised: only the proxy is an index (with `password` as its Basic-auth password). */
  const pip = async (python: string, args: string[], name = remote, password?: string) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PIP_CONFIG_FILE: "/dev/null", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
    for (const variable of ["PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"]) delete env[variable];
    const indexUrl = password === undefined ? simple(name) : simple(name).replace("://", `://__token__:${password}@`);
    return run(python, ["-m", "pip", ...args, "--no-cache-dir", "--no-input", "--index-url", indexUrl], { env, timeout: 90_000 });
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "pypi-e2e-"));
    await run("python3", [join(import.meta.dirname, "fixtures/build_python_packages.py"), work]);
    wheel = await readFile(join(work, "demo_lib-1.0.0-py3-none-any.whl"));
    sdist = await readFile(join(work, "demo_app-2.0.0.tar.gz"));
    const fileUrl = (name: string) => `https://${FILES_HOST}/packages/${name}`;
    const project = (name: string, file: string, digest: string, url = fileUrl(file)) => {
      index.serve(`/simple/${name}/`, {
        body: `<!DOCTYPE html><html><body><a href="${url}#sha256=${digest}" data-requires-python="&gt;=3.8">${file}</a></body></html>`,
        contentType: "text/html",
      });
      index.serve(`/json/simple/${name}/`, {
        body: JSON.stringify({ meta: { "api-version": "1.0" }, name, files: [{ filename: file, url, hashes: { sha256: digest } }] }),
        contentType: PYPI_JSON,
      });
    };
    project("demo-lib", "demo_lib-1.0.0-py3-none-any.whl", sha256(wheel));
    // Linked on the index's own host, which redirects to the file host (as pypi.org's /packages/ URLs do).
    project("demo-app", "demo_app-2.0.0.tar.gz", sha256(sdist), `http://${INDEX_HOST}/packages/demo_app-2.0.0.tar.gz`);
    index.redirect("/packages/demo_app-2.0.0.tar.gz", fileUrl("demo_app-2.0.0.tar.gz"));
    // An index that declares a digest its file does not have.
    project("bad-lib", "bad_lib-1.0.0-py3-none-any.whl", "0".repeat(64));
    files
      .serve("/packages/demo_lib-1.0.0-py3-none-any.whl", wheel)
      .serve("/packages/demo_app-2.0.0.tar.gz", sdist)
      .serve("/packages/bad_lib-1.0.0-py3-none-any.whl", Buffer.from("tampered"));
    await index.start();
    await files.start();

    // The upstream answers PEP 691 JSON when asked for it first, as pypi.org does.
    const answer = async (request: Request) => {
      const target = new URL(request.url);
      const origin = target.hostname === FILES_HOST ? files : index;
      const wantsJson = target.hostname === INDEX_HOST && (request.headers.get("accept") ?? "").trim().startsWith(PYPI_JSON);
      const path = wantsJson && target.pathname.startsWith("/simple/") ? `/json${target.pathname}` : target.pathname;
      const headers: Record<string, string> = { accept: request.headers.get("accept") ?? "*/*" };
      for (const name of ["authorization", "if-none-match", "if-modified-since"]) {
        const value = request.headers.get(name);
        if (value) headers[name] = value;
      }
      // Redirects go back to the Worker, which follows them itself.
      const response = await fetch(`${origin.url}${path}`, { method: request.method, headers, redirect: "manual" });
      const body = response.status === 304 || request.method === "HEAD" ? null : await response.arrayBuffer();
      return new Response(body, { status: response.status, headers: response.headers });
    };
    stack = await startTestStack({
      remotes: {
        [remote]: { base_url: `http://${INDEX_HOST}`, package: "pypi", mutable_ttl: 1, auth: { type: "bearer", token: "index-token" } },
        [htmlRemote]: { base_url: `http://${HTML_INDEX_HOST}`, package: "pypi", mutable_ttl: 1 },
        [privateRemote]: { base_url: `http://${INDEX_HOST}`, package: "pypi", private: true, read_tokens: [readToken] },
      },
      // The HTML check below sends X-Forwarded-* as the load balancer in front would.
      env: { TRUST_FORWARDED: "true" },
      outbound: { hosts: [INDEX_HOST, HTML_INDEX_HOST, FILES_HOST], fetch: answer },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await index.stop();
    await files.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const downloadAndInstall = async (round: string) => {
    const downloads = join(work, `download-${round}`);
    await pip("python3", ["download", "--dest", downloads, "demo-app"]);
    // The HTML-only index: pip reads PEP 503 pages, whose file links are proxied as well.
    const htmlDownloads = join(work, `download-html-${round}`);
    await pip("python3", ["download", "--dest", htmlDownloads, "demo-app"], htmlRemote);
    expect((await readdir(htmlDownloads)).sort()).toEqual(["demo_app-2.0.0.tar.gz", "demo_lib-1.0.0-py3-none-any.whl"]);
    const downloaded = (await readdir(downloads)).sort();
    expect(downloaded).toEqual(["demo_app-2.0.0.tar.gz", "demo_lib-1.0.0-py3-none-any.whl"]);
    expect(sha256(await readFile(join(downloads, "demo_lib-1.0.0-py3-none-any.whl")))).toBe(sha256(wheel));
    expect(sha256(await readFile(join(downloads, "demo_app-2.0.0.tar.gz")))).toBe(sha256(sdist));

    const venv = join(work, `venv-${round}`);
    await run("python3", ["-m", "venv", venv], { timeout: 60_000 });
    const python = join(venv, "bin/python");
    // The sdist is built by pip through its in-tree backend; its dependency comes as a wheel.
    await pip(python, ["install", "demo-app"]);
    const { stdout } = await run(python, ["-c", "import demo_app, demo_lib; print(demo_app.VALUE, '|', demo_lib.VALUE)"]);
    expect(stdout.trim()).toBe("demo-app 2.0.0 | demo-lib 1.0.0");
  };

  it("pip download and pip install go through the proxy, files from the foreign host included", async () => {
    await downloadAndInstall("online");
    expect(index.count("/json/simple/demo-app/")).toBeGreaterThan(0);
    expect(index.count("/simple/demo-app/")).toBeGreaterThan(0);
    // Each remote fetched each file once: the HTML remote's links are its own _files/ paths.
    expect(files.count("/packages/demo_lib-1.0.0-py3-none-any.whl")).toBe(2);
    expect(files.count("/packages/demo_app-2.0.0.tar.gz")).toBe(2);
    // The sdist's link is on the index host: fetched there, and followed to the file host.
    expect(index.count("/packages/demo_app-2.0.0.tar.gz")).toBe(2);
    // The remote's credentials go to its index, never to the file host its pages link to or redirect to.
    expect(index.requests.filter((r) => r.path.startsWith("/json/")).every((r) => r.headers.authorization === "Bearer index-token")).toBe(true);
    expect(files.requests.some((r) => r.headers.authorization !== undefined)).toBe(false);
  });

  it("revalidates expired index pages with a conditional GET: ETag, or Last-Modified alone; 304 keeps the page", async () => {
    const page = (name: string) => fetch(`${simple()}${name}/`, { headers: { accept: PYPI_JSON } });
    const last = (path: string) => index.requests.filter((r) => r.path === path).at(-1)!;
    // A page as a static tree serves it: Last-Modified, no ETag.
    const staticPage = (version: string, modified: string) =>
      index.serve("/json/simple/static-lib/", {
        body: JSON.stringify({ meta: { "api-version": "1.0" }, name: "static-lib", files: [], versions: [version] }),
        contentType: PYPI_JSON,
        noEtag: true,
        headers: { "last-modified": modified },
      });
    staticPage("1.0", "Mon, 02 Nov 2026 10:00:00 GMT");
    const stored = await (await page("demo-lib")).text();
    await (await page("static-lib")).arrayBuffer();
    await sleep(1_200); // both past mutable_ttl

    const byTag = await page("demo-lib");
    expect(byTag.headers.get("x-artifact-source")).toBe("cache");
    expect(await byTag.text()).toBe(stored);
    expect(last("/json/simple/demo-lib/").headers["if-none-match"]).toMatch(/^"/);
    const byDate = await page("static-lib");
    expect(byDate.headers.get("x-artifact-source")).toBe("cache");
    expect(((await byDate.json()) as { versions: string[] }).versions).toEqual(["1.0"]);
    expect(last("/json/simple/static-lib/").headers).toMatchObject({ "if-modified-since": "Mon, 02 Nov 2026 10:00:00 GMT" });
    expect(last("/json/simple/static-lib/").headers["if-none-match"]).toBeUndefined();

    // A newer page (a release) is served once the stored one expires.
    staticPage("1.1", "Tue, 03 Nov 2026 12:00:00 GMT");
    await sleep(1_200);
    const released = await page("static-lib");
    expect(released.headers.get("x-artifact-source")).toBe("remote");
    expect(((await released.json()) as { versions: string[] }).versions).toEqual(["1.1"]);
  });

  it("serves a private remote to pip with its read token as the Basic-auth password, and to no one else", async () => {
    const downloads = join(work, "download-private");
    await pip("python3", ["download", "--no-deps", "--dest", downloads, "demo-lib"], privateRemote, readToken);
    expect(await readdir(downloads)).toEqual(["demo_lib-1.0.0-py3-none-any.whl"]);
    const refused = async (password?: string) => {
      try {
        // -vv: pip names the index's 401 only at debug level.
        await pip("python3", ["download", "-vv", "--no-deps", "--dest", join(work, "download-refused"), "demo-lib"], privateRemote, password);
      } catch (error) {
        const { stdout, stderr } = error as { stdout: string; stderr: string };
        return stdout + stderr;
      }
      throw new Error(`pip downloaded from ${privateRemote} with password ${password}`);
    };
    expect(await refused()).toMatch(/401 Client Error: Unauthorized/);
    expect(await refused("wrong")).toMatch(/401 Client Error: Unauthorized/);
  });

  it("serves the PEP 691 JSON form with links through the proxy and the declared hashes intact", async () => {
    const response = await fetch(`${simple()}demo-lib/`, { headers: { accept: PYPI_JSON } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain(PYPI_JSON);
    expect(response.headers.get("vary")).toContain("Accept");
    const page = (await response.json()) as { files: { url: string; hashes: { sha256: string } }[] };
    expect(page.files[0]!.url).toBe(`${simple().replace(/simple\/$/, "")}_files/${FILES_HOST}/packages/demo_lib-1.0.0-py3-none-any.whl`);
    expect(page.files[0]!.hashes.sha256).toBe(sha256(wheel));
  });

  it("serves the PEP 503 HTML form for a browser-style Accept, built from the load balancer's X-Forwarded-Proto/Host", async () => {
    const headers = { accept: "text/html", "x-forwarded-proto": "https", "x-forwarded-host": "pkgs.example.com" };
    const page = await (await fetch(`${simple()}demo-lib/`, { headers })).text();
    const proxied = `https://pkgs.example.com/api/v1/remote/${remote}/_files/${FILES_HOST}/packages/demo_lib-1.0.0-py3-none-any.whl#sha256=${sha256(wheel)}`;
    expect(page).toContain(`href="${proxied}"`);
    expect(page).toContain('data-requires-python="&gt;=3.8"');
    // A second client behind the same load balancer is answered from the stored rewritten page.
    const before = index.requests.length;
    const again = await fetch(`${simple()}demo-lib/`, { headers });
    expect(again.headers.get("x-artifact-source")).toBe("cache");
    expect(await again.text()).toBe(page);
    // Never fetched again; on a slow machine the page may have outlived mutable_ttl (1 s) meanwhile,
    // and then the index was only asked whether it changed (If-None-Match, answered 304).
    const refetched = index.requests.slice(before).filter((r) => r.path === "/simple/demo-lib/" && r.headers["if-none-match"] === undefined);
    expect(refetched).toEqual([]);
  });

  it("refuses, and never caches, a file that does not match the digest its index declares", async () => {
    await fetch(`${simple()}bad-lib/`, { headers: { accept: PYPI_JSON } });
    const url = `${stack.url}/api/v1/remote/${remote}/_files/${FILES_HOST}/packages/bad_lib-1.0.0-py3-none-any.whl`;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const response = await fetch(url);
      expect(response.status).toBe(502);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("DIGEST_MISMATCH");
      expect(files.count("/packages/bad_lib-1.0.0-py3-none-any.whl")).toBe(attempt);
    }
  });

  it("refuses files that no index of the remote linked", async () => {
    for (const path of ["_files/evil.example.net/packages/x.whl", `_files/${FILES_HOST}/packages/unlinked-1.0.whl`]) {
      expect((await fetch(`${stack.url}/api/v1/remote/${remote}/${path}`)).status).toBe(403);
    }
  });

  it("keeps working from the cache with a clean pip cache once the upstream is gone", async () => {
    await index.stop();
    await files.stop();
    await sleep(1_200); // past mutable_ttl: index pages are now served stale
    await downloadAndInstall("offline");
  });
});
