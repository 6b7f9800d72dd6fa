import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOwnBackends, type OwnBackends } from "../support/backends.ts";
import { answerBeforeBody, eventually, json } from "../support/http.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const PYPI_JSON = "application/vnd.pypi.simple.v1+json";

/**
 * PyPI locals (issue 11) with the real twine (legacy upload API) and pip (simple API) against the
 * proxy as `npm start` runs it, on real Postgres, S3 (the emulator) and a Redis of its own.
 */
describe("pypi local repositories with twine and pip", () => {
  const admin = randomBytes(16).toString("hex");
  const writer = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const local = uniqueName("team-pypi");
  const tiny = uniqueName("tiny-pypi");
  let backends: OwnBackends;
  let stack: TestStack;
  let work: string;

  const base = () => `${stack.url}/api/v1/local/${local}`;
  const remotes = () => ({
    [local]: { type: "local", package: "pypi", write_tokens: [`ci-bot:${writer}`], read_tokens: [reader] },
    [tiny]: { type: "local", package: "pypi", write_tokens: [writer], max_upload_size: 512 },
  });
  const dist = (file: string) => join(work, file);
  const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
  const api = (path: string) => fetch(`${stack.url}/api/v2${path}`, { headers: { authorization: `Bearer ${admin}` } });

  /** twine with nothing from this machine's configuration: the URL and the token on the command line. */
  const twine = (files: string[], password = writer, extra: string[] = []) =>
    run("twine", ["upload", "--non-interactive", "--disable-progress-bar", "--repository-url", `${base()}/`, "-u", "__token__", "-p", password, ...extra, ...files], {
      env: { ...process.env, PYTHON_KEYRING_BACKEND: "keyring.backends.null.Keyring", TWINE_USERNAME: "", TWINE_PASSWORD: "" },
      timeout: 90_000,
    }).catch((error: Error & { stdout?: string; stderr?: string }) => {
      // twine reports the server's answer on stdout.
      throw new Error(`${error.message}\n${error.stdout ?? ""}\n${error.stderr ?? ""}`);
    });
  const pip = (args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PIP_CONFIG_FILE: "/dev/null", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
    for (const variable of ["PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"]) delete env[variable];
    return run("python3", ["-m", "pip", ...args, "--no-cache-dir", "--no-input", "--index-url", `${base()}/simple/`], { env, timeout: 90_000 });
  };
  /** The legacy upload API called as a script would, with curl (twine checks archives itself and would not send a broken one). */
  const curlUpload = async (file: string, fields: Record<string, string>, token = writer, url = `${base()}/`) => {
    const form = Object.entries({ ":action": "file_upload", protocol_version: "1", ...fields }).flatMap(([name, value]) => ["-F", `${name}=${value}`]);
    const { stdout } = await run("curl", ["-sS", "-w", "\n%{http_code}", "-u", `__token__:${token}`, ...form, "-F", `content=@${file}`, url]);
    const cut = stdout.lastIndexOf("\n");
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "pypi-local-"));
    await run("python3", [join(import.meta.dirname, "fixtures/build_local_python_packages.py"), work]);
    backends = await startOwnBackends();
    stack = await startTestStack({ remotes: remotes(), env: { ...backends.env, ADMIN_TOKEN: admin } });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("takes wheels and an sdist from twine upload, and pip installs them from the simple index", async () => {
    await twine([dist("team_lib-1.0.0-py3-none-any.whl"), dist("team_lib-1.0.0.tar.gz"), dist("team_app-2.0.0-py3-none-any.whl"), dist("future_lib-1.0.0-py3-none-any.whl")]);
    const target = join(work, "site");
    await pip(["install", "--target", target, "team-app"]);
    const { stdout } = await run("python3", ["-c", "import team_app, team_lib; print(team_app.VALUE, '|', team_lib.VALUE)"], { env: { ...process.env, PYTHONPATH: target } });
    expect(stdout.trim()).toBe("team-app 2.0.0 | Team_Lib 1.0.0");
    // data-requires-python: pip on Python 3 passes over a file that needs Python 4.
    await expect(pip(["download", "--dest", join(work, "future"), "future-lib"])).rejects.toThrow(/Requires-Python|No matching distribution/);
  });

  it("serves PEP 691 JSON and PEP 503 HTML with sha256 and requires-python, under the normalised name", async () => {
    const wheel = await readFile(dist("team_lib-1.0.0-py3-none-any.whl"));
    const sdist = await readFile(dist("team_lib-1.0.0.tar.gz"));
    const page = await fetch(`${base()}/simple/team-lib/`, { headers: { accept: PYPI_JSON } });
    expect(page.headers.get("content-type")).toBe(PYPI_JSON);
    const document = await json(page);
    expect(document).toMatchObject({ meta: { "api-version": "1.1" }, name: "team-lib", versions: ["1.0.0"] });
    expect(document.files).toEqual([
      expect.objectContaining({ filename: "team_lib-1.0.0-py3-none-any.whl", hashes: { sha256: sha256(wheel) }, "requires-python": ">=3.8", size: wheel.length }),
      expect.objectContaining({ filename: "team_lib-1.0.0.tar.gz", hashes: { sha256: sha256(sdist) }, "requires-python": ">=3.8", size: sdist.length }),
    ]);
    const downloaded = Buffer.from(await (await fetch(document.files[0].url)).arrayBuffer());
    expect(sha256(downloaded)).toBe(sha256(wheel));

    const html = await (await fetch(`${base()}/simple/team-lib/`, { headers: { accept: "text/html" } })).text();
    expect(html).toContain(`href="${base()}/packages/team-lib/team_lib-1.0.0-py3-none-any.whl#sha256=${sha256(wheel)}" data-requires-python="&gt;=3.8"`);
    for (const spelling of ["Team_Lib/", "team.lib/", "team-lib"]) {
      const redirected = await fetch(`${base()}/simple/${spelling}`, { redirect: "manual" });
      expect([redirected.status, redirected.headers.get("location")]).toEqual([301, `${base()}/simple/team-lib/`]);
    }
    const root = await json(await fetch(`${base()}/simple/`, { headers: { accept: PYPI_JSON } }));
    expect(root.projects).toEqual([{ name: "future-lib" }, { name: "team-app" }, { name: "Team_Lib" }]);
    expect((await fetch(`${base()}/simple/`)).headers.get("content-type")).toMatch(/^text\/html/);
    expect((await fetch(`${base()}/simple/unknown-project/`)).status).toBe(404);
  });

  it("refuses the same file twice (409), which twine --skip-existing passes over", async () => {
    await expect(twine([dist("team_lib-1.0.0-py3-none-any.whl")])).rejects.toThrow(/409|File already exists/);
    await twine([dist("team_lib-1.0.0-py3-none-any.whl")], writer, ["--skip-existing"]);
  });

  it("refuses a malformed wheel or sdist, a file name that is no distribution and a wrong sha256_digest (400), keeping nothing", async () => {
    const broken = (file: string) => join(work, "broken", file);
    const cases: [string, Record<string, string>, RegExp][] = [
      [broken("broken_lib-1.0.0-py3-none-any.whl"), { name: "broken-lib", version: "1.0.0", filetype: "bdist_wheel" }, /not a valid wheel/],
      [broken("broken_lib-1.0.0.tar.gz"), { name: "broken-lib", version: "1.0.0", filetype: "sdist" }, /not a valid sdist/],
      [broken("nometa_lib-1.0.0-py3-none-any.whl"), { name: "nometa-lib", version: "1.0.0" }, /no core metadata/],
      [dist("team_app-2.0.0-py3-none-any.whl"), { name: "team-app", version: "2.0.0", sha256_digest: "0".repeat(64) }, /sha256_digest is 0+/],
      [dist("team_app-2.0.0-py3-none-any.whl"), { name: "other-app", version: "2.0.0" }, /the form says other-app/],
    ];
    for (const [file, fields, message] of cases) {
      const answer = await curlUpload(file, fields);
      expect([answer.status, JSON.parse(answer.body).error.message]).toEqual([400, expect.stringMatching(message)]);
    }
    const renamed = join(work, "broken", "notes.txt");
    await writeFile(renamed, "text");
    expect((await curlUpload(renamed, {})).status).toBe(400);
    expect((await fetch(`${base()}/simple/broken-lib/`)).status).toBe(404);
    expect((await fetch(`${base()}/simple/nometa-lib/`)).status).toBe(404);

    // Over max_upload_size: 413, announced or not.
    const tooLarge = await curlUpload(dist("team_app-2.0.0-py3-none-any.whl"), { name: "team-app", version: "2.0.0" }, writer, `${stack.url}/api/v1/local/${tiny}/`);
    expect([tooLarge.status, JSON.parse(tooLarge.body).error.code]).toEqual([413, "BODY_TOO_LARGE"]);
    expect((await fetch(`${stack.url}/api/v1/local/${tiny}/simple/team-app/`)).status).toBe(404);
  });

  it("needs a write token, checked before the body is read: 401 without one, 403 with a read token", async () => {
    const form = { "content-type": "multipart/form-data; boundary=x" };
    const anonymous = await answerBeforeBody(`${base()}/`, "POST", form);
    expect([anonymous.status, JSON.parse(anonymous.body).error.code]).toEqual([401, "UNAUTHORIZED"]);
    const readOnly = await answerBeforeBody(`${base()}/`, "POST", { ...form, authorization: `Basic ${Buffer.from(`__token__:${reader}`).toString("base64")}` });
    expect(readOnly.status).toBe(403);
    await expect(twine([dist("team_app-2.0.0-py3-none-any.whl")], reader)).rejects.toThrow(/403/);
    await expect(twine([dist("team_app-2.0.0-py3-none-any.whl")], "wrong-token")).rejects.toThrow(/401|403/);
  });

  it("records every upload as an event, with the token's name", async () => {
    await eventually(async () => {
      const stream = await (await api("/events?backlog=200&timeout=1")).text();
      const events = stream.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)));
      const mine = events.filter((event) => event.remote === local && event.type === "upload.finished");
      expect(mine.map((event) => event.path).sort()).toEqual([
        "packages/future-lib/future_lib-1.0.0-py3-none-any.whl",
        "packages/team-app/team_app-2.0.0-py3-none-any.whl",
        "packages/team-lib/team_lib-1.0.0-py3-none-any.whl",
        "packages/team-lib/team_lib-1.0.0.tar.gz",
      ]);
      expect(mine[0]).toMatchObject({ by: "ci-bot" });
    });
  });

  it("loses nothing when Redis is flushed and the proxy restarts: pages rebuild from Postgres, pip installs", async () => {
    await backends.redis.flush();
    stack = await stack.restart(remotes());
    const document = await json(await fetch(`${base()}/simple/team-lib/`, { headers: { accept: PYPI_JSON } }));
    expect(document.files.map((file: { filename: string }) => file.filename)).toEqual(["team_lib-1.0.0-py3-none-any.whl", "team_lib-1.0.0.tar.gz"]);
    const target = join(work, "site-after-restart");
    await pip(["install", "--target", target, "team-app"]);
    const { stdout } = await run("python3", ["-c", "import team_app; print(team_app.VALUE)"], { env: { ...process.env, PYTHONPATH: target } });
    expect(stdout.trim()).toBe("team-app 2.0.0");
    expect((await curlUpload(dist("team_app-2.0.0-py3-none-any.whl"), { name: "team-app", version: "2.0.0" })).status).toBe(409);
  });
});
