import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExternalBackends, type ExternalBackends } from "../support/backends.ts";
import { eventually, sha256 } from "../support/http.ts";
import { Origin } from "../support/origin.ts";
import { startTestStack, uniqueName, type TestStack } from "../support/stack.ts";

/** The management API (issue 5) against the proxy as `npm start` runs it, on real Postgres + Redis + S3. */
describe("management API", () => {
  const origin = new Origin();
  const admin = randomBytes(16).toString("hex");
  const oldAdmin = randomBytes(16).toString("hex");
  const reader = randomBytes(16).toString("hex");
  const files = uniqueName("files");
  const locked = uniqueName("locked");
  let backends: ExternalBackends;
  const lockedByEnv = uniqueName("locked-env");
  let stack: TestStack;

  const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    const token = init.token === undefined ? admin : init.token;
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
    return fetch(`${stack.url}/api/v2${path}`, { ...init, headers });
  };
  const json = async (response: Response) => (await response.json()) as any;

  beforeAll(async () => {
    origin
      .serve("/a.bin", randomBytes(2048))
      .serve("/b.bin", randomBytes(1024))
      .serve("/dir/c.txt", "same bytes")
      .serve("/dir/d.txt", "same bytes")
      .serve("/pkg-1.0.tgz", "one")
      .serve("/pkg-1.1.tgz", "one.one")
      .serve("/secret/x.txt", "hidden")
      .serve("/evict-me.bin", "soon gone");
    await origin.start();
    backends = await startExternalBackends();
    stack = await startTestStack({
      remotes: {
        [files]: { base_url: origin.url, allow_private_network: true, blocklist: ["^secret/"] },
        [locked]: { base_url: origin.url, allow_private_network: true, private: true, read_tokens: ["pull-token"] },
        [lockedByEnv]: { base_url: origin.url, allow_private_network: true, private: true, read_tokens_env: "MANAGEMENT_TEST_PULL_TOKENS" },
      },
      env: { ...backends.env, ADMIN_TOKEN: `${oldAdmin}, ${admin}`, READ_TOKEN: reader, MANAGEMENT_TEST_PULL_TOKENS: "env-pull-1, env-pull-2" },
    });
  });

  afterAll(async () => {
    await stack?.destroy();
    await backends?.stop();
    await origin.stop();
  });

  it("refuses requests without a token (401), with a wrong one (401), and writes with a read token (403); health stays public", async () => {
    const none = await api("/remotes", { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await json(none)).error.code).toBe("UNAUTHORIZED");
    expect((await api("/remotes", { token: "wrong" })).status).toBe(401);
    expect((await api("/openapi.json", { token: null })).status).toBe(401);

    expect((await api("/remotes", { token: reader })).status).toBe(200);
    const write = await api("/remotes/x", { method: "PUT", token: reader, body: JSON.stringify({ base_url: "https://example.org" }) });
    expect(write.status).toBe(403);
    expect((await json(write)).error.code).toBe("FORBIDDEN");
    // Both tokens of a rotation list work.
    expect((await api("/remotes", { token: oldAdmin })).status).toBe(200);
    expect((await api("/health", { token: null })).status).toBe(200);
  });

  it("creates, reads, replaces idempotently and deletes remotes; secrets are write-only", async () => {
    const name = uniqueName("tf");
    const body = { base_url: "https://downloads.example.org/", auth: { type: "bearer", token: "s3cr3t-upstream-token" }, description: "first" };
    const created = await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify(body) });
    expect(created.status).toBe(201);
    const createdBody = await json(created);
    expect(createdBody).toMatchObject({ name, result: "created", auth: { type: "bearer", token: { set: true } } });

    const again = await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify(body) });
    expect(again.status).toBe(200);
    expect((await json(again)).result).toBe("unchanged");

    const read = await api(`/remotes/${name}`, { token: reader });
    const text = await read.text();
    expect(text).not.toContain("s3cr3t");
    const stored = JSON.parse(text);
    expect(stored.auth.token).toEqual({ set: true });

    // GET → edit → PUT keeps the secret that came back as {"set": true}.
    const edited = await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ ...stored, description: "second" }) });
    expect((await json(edited)).result).toBe("updated");
    const list = await api("/remotes");
    expect(await list.text()).not.toContain("s3cr3t");

    const duplicate = await api("/remotes", { method: "POST", body: JSON.stringify({ name, ...body }) });
    expect(duplicate.status).toBe(409);
    expect((await api(`/remotes/${name}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/remotes/${name}`, { method: "DELETE" })).status).toBe(404);
    const missing = await api(`/remotes/${name}`);
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe("REMOTE_NOT_FOUND");
  });

  it("keeps every kind of secret write-only: basic password, header value, CircleCI token, read tokens", async () => {
    const secret = (kind: string) => `${kind}-${randomBytes(8).toString("hex")}`;
    const cases = [
      { key: ["auth", "password"], value: secret("pw"), body: (v: string) => ({ base_url: "https://a.example.org", auth: { type: "basic", username: "bot", password: v } }) },
      { key: ["auth", "value"], value: secret("hv"), body: (v: string) => ({ base_url: "https://b.example.org", auth: { type: "header", name: "x-api-key", value: v } }) },
      { key: ["token"], value: secret("cci"), body: (v: string) => ({ base_url: "https://circleci.com", package: "circleci", token: v }) },
      { key: ["read_tokens"], value: secret("rt"), body: (v: string) => ({ base_url: "https://c.example.org", private: true, read_tokens: [v] }) },
    ];
    for (const { key, value, body } of cases) {
      const name = uniqueName("secret");
      const path = `/remotes/${name}`;
      const dryRun = await api(`${path}?dry_run=true`, { method: "PUT", body: JSON.stringify(body(value)) });
      const created = await api(path, { method: "PUT", body: JSON.stringify(body(value)) });
      expect(created.status).toBe(201);
      const answers = [await dryRun.text(), await created.text(), await (await api(path, { token: reader })).text(), await (await api("/remotes")).text()];
      for (const text of answers) expect(text).not.toContain(value);
      const shown = key.reduce((object: any, part) => object?.[part], JSON.parse(answers[2]!));
      expect(shown, key.join(".")).toEqual({ set: true });
      expect((await api(path, { method: "DELETE" })).status).toBe(204);
    }
  });

  it("validates base_url on every write and explains bad bodies", async () => {
    const put = (body: unknown) => api(`/remotes/${uniqueName("bad")}`, { method: "PUT", body: JSON.stringify(body) });
    const creds = await json(await put({ base_url: "https://user:pw@example.org" }));
    expect(creds.error).toMatchObject({ code: "INVALID_CONFIG" });
    expect(creds.error.message).toMatch(/credentials/);
    expect((await json(await put({ base_url: "ftp://example.org" }))).error.message).toMatch(/http/);
    expect((await json(await put({ base_url: "http://10.1.2.3/" }))).error.message).toMatch(/allow_private_network/);
    expect((await put({ base_url: "http://10.1.2.3/", allow_private_network: true })).status).toBe(201);
    const notJson = await api("/remotes/x", { method: "PUT", body: "{", headers: { "content-type": "application/json" } });
    expect((await json(notJson)).error.code).toBe("BAD_JSON");
    const secretless = await put({ base_url: "https://example.org", auth: { type: "bearer", token: { set: true } } });
    expect((await json(secretless)).error.code).toBe("SECRET_NOT_SET");
  });

  it("stores virtuals whose members exist and share the package type", async () => {
    const name = uniqueName("virt");
    expect((await api(`/virtuals/${name}`, { method: "PUT", body: JSON.stringify({ remotes: [files] }) })).status).toBe(201);
    // The earlier `remotes:` key is read as `members:`.
    expect(await json(await api(`/virtuals/${name}`))).toMatchObject({ name, members: [files], package: "generic" });
    const unknown = await api(`/virtuals/${name}`, { method: "PUT", body: JSON.stringify({ members: ["nope"] }) });
    expect((await json(unknown)).error.message).toMatch(/no remote or local named 'nope'/);
    const nested = await api(`/virtuals/${uniqueName("outer")}`, { method: "PUT", body: JSON.stringify({ members: [name] }) });
    expect(nested.status).toBe(400);
    expect((await json(nested)).error.message).toMatch(/is a virtual; a virtual's members are remotes and locals/);
    const writesToRemote = await api(`/virtuals/${name}`, { method: "PUT", body: JSON.stringify({ members: [files], default_local: files }) });
    expect((await json(writesToRemote)).error.message).toMatch(/default_local '.*' is a remote/);
    const inUse = await api(`/remotes/${files}`, { method: "DELETE" });
    expect(inUse.status).toBe(409);
    expect((await json(inUse)).error.message).toContain(`member of virtual '${name}'`);
    expect((await api(`/virtuals/${name}`, { method: "DELETE" })).status).toBe(204);
  });

  it("makes a config change visible to the proxy within about 2 seconds (3 s allowed)", async () => {
    const name = uniqueName("live");
    const status = async () => (await fetch(`${stack.url}/api/v1/remote/${name}/b.bin`)).status;
    /** How long after `change` the proxy answers `expected`: polled every 100 ms, up to 3 s. */
    const visibleAfter = async (change: () => Promise<unknown>, expected: number) => {
      await change();
      const started = Date.now();
      await eventually(async () => expect(await status()).toBe(expected), 3_000);
      return Date.now() - started;
    };
    expect(await status()).toBe(404);
    const created = await visibleAfter(() => api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ base_url: origin.url, allow_private_network: true }) }), 200);
    const edited = await visibleAfter(
      () => api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ base_url: origin.url, allow_private_network: true, blocklist: ["b.bin"] }) }),
      403,
    );
    expect(created).toBeLessThanOrEqual(3_000);
    expect(edited).toBeLessThanOrEqual(3_000);
  });

  /** The live event stream, read as far as a test needs. */
  const eventStream = async () => {
    const response = await api("/events?timeout=20");
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const stream = {
      text: "",
      async readUntil(pattern: RegExp) {
        const deadline = Date.now() + 15_000;
        while (!pattern.test(stream.text) && Date.now() < deadline) stream.text += (await reader.read()).value ?? "";
        expect(stream.text).toMatch(pattern);
      },
      cancel: () => reader.cancel(),
    };
    await stream.readUntil(/stream open/);
    return stream;
  };

  it("streams the events of a fetch and resumes with Last-Event-ID", async () => {
    const stream = await eventStream();
    await (await fetch(`${stack.url}/api/v1/remote/${files}/a.bin`)).arrayBuffer();
    await stream.readUntil(/event: fetch\.finished\n/);
    await stream.cancel();
    const buffer = stream.text;
    expect(buffer).toMatch(/event: fetch\.started\ndata: .*"path":"a\.bin"/);
    const finished = /id: (\d+)\nevent: fetch\.finished\ndata: (.*)\n/.exec(buffer)!;
    expect(JSON.parse(finished[2]!)).toMatchObject({ remote: files, path: "a.bin", size: 2048 });

    const startedId = Number(/id: (\d+)\nevent: fetch\.started/.exec(buffer)![1]);
    const resumed = await api("/events?timeout=2", { headers: { "last-event-id": String(startedId) } });
    const replay = await resumed.text();
    expect(replay).toContain(`id: ${finished[1]}\nevent: fetch.finished`);
    expect(replay).not.toContain(`id: ${startedId}\n`);
  });

  it("streams config.changed and eviction events; ?backlog=N replays only the last N", async () => {
    const stream = await eventStream();
    const name = uniqueName("evented");
    await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ base_url: "https://example.org" }) });
    await api(`/remotes/${name}`, { method: "DELETE" });
    await (await fetch(`${stack.url}/api/v1/remote/${files}/evict-me.bin`)).arrayBuffer();
    await eventually(async () => expect((await api(`/remotes/${files}/objects?path=evict-me.bin`, { method: "DELETE" })).status).toBe(200));
    await stream.readUntil(/event: eviction\n/);
    await stream.cancel();
    const events = [...stream.text.matchAll(/id: (\d+)\nevent: (.+)\ndata: (.*)\n/g)].map((m) => ({ id: Number(m[1]), type: m[2]!, data: JSON.parse(m[3]!) }));
    const changes = events.filter((e) => e.type === "config.changed").map((e) => e.data);
    expect(changes).toEqual([
      expect.objectContaining({ remote: name, kind: "remote", name, action: "created" }),
      expect.objectContaining({ remote: name, kind: "remote", name, action: "deleted" }),
    ]);
    expect(events.find((e) => e.type === "eviction")?.data).toMatchObject({ remote: files, path: "evict-me.bin", evicted: 1 });

    // Without Last-Event-ID, backlog=N replays the newest N events and no older one (a late
    // fetch event may land after the eviction, hence "at least as new").
    const newest = Math.max(...events.map((e) => e.id));
    const replayed = async (backlog: number) =>
      [...(await (await api(`/events?backlog=${backlog}&timeout=1`)).text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const two = await replayed(2);
    expect(two).toHaveLength(2);
    expect(two[0]).toBeLessThan(two[1]!);
    expect(two[1]).toBeGreaterThanOrEqual(newest);
    const one = await replayed(1);
    expect(one).toHaveLength(1);
    expect(one[0]).toBeGreaterThanOrEqual(newest);
    expect(await replayed(0)).toEqual([]);
  });

  it("browses cached objects with a cursor, evicts, and refetches after eviction", async () => {
    for (const path of ["b.bin", "dir/c.txt", "dir/d.txt"]) await (await fetch(`${stack.url}/api/v1/remote/${files}/${path}`)).arrayBuffer();
    await (await fetch(`${stack.url}/api/v1/remote/${files}/dir/c.txt`)).arrayBuffer();
    const page = async (query: string) => json(await api(`/remotes/${files}/objects?${query}`, { token: reader }));
    await eventually(async () => expect((await page("prefix=dir/")).objects).toHaveLength(2));
    const first = await page("prefix=dir/&limit=1");
    expect(first.objects[0]).toMatchObject({ path: "dir/c.txt", size: 10, sha256: sha256("same bytes") });
    expect(first.next_cursor).toBeTruthy();
    const second = await page(`prefix=dir/&limit=1&cursor=${encodeURIComponent(first.next_cursor)}`);
    expect(second.objects.map((o: { path: string }) => o.path)).toEqual(["dir/d.txt"]);
    expect(second.next_cursor).toBeNull();
    await eventually(async () => expect((await page("prefix=dir/c")).objects[0].hits).toBe(1));
    expect((await json(await api(`/remotes/${files}/objects?cursor=garbage`))).error.code).toBe("BAD_CURSOR");

    // c and d share one blob: evicting c keeps it, evicting d deletes it.
    const one = await json(await api(`/remotes/${files}/objects?path=dir/c.txt`, { method: "DELETE" }));
    expect(one).toMatchObject({ evicted: 1, blobs_deleted: 0 });
    expect((await api(`/remotes/${files}/objects?path=dir/c.txt`, { method: "DELETE" })).status).toBe(404);
    expect((await api(`/remotes/${files}/objects?path=dir/d.txt`, { method: "DELETE", token: reader })).status).toBe(403);
    const rest = await json(await api(`/remotes/${files}/objects?prefix=dir/`, { method: "DELETE" }));
    expect(rest).toMatchObject({ evicted: 1, blobs_deleted: 1, paths: ["dir/d.txt"] });

    const before = origin.count("/dir/c.txt");
    const refetched = await fetch(`${stack.url}/api/v1/remote/${files}/dir/c.txt`);
    expect(refetched.headers.get("x-artifact-source")).toBe("remote");
    expect(await refetched.text()).toBe("same bytes");
    expect(origin.count("/dir/c.txt")).toBe(before + 1);
  });

  it("reports requests, hits, misses, bytes and top artifacts", async () => {
    const stats = await json(await api("/stats?window=1h", { token: reader }));
    const mine = stats.windows["1h"].remotes[files];
    expect(mine.misses).toBeGreaterThanOrEqual(4);
    expect(mine.hits).toBeGreaterThanOrEqual(1);
    expect(mine.bytes_fetched).toBeGreaterThanOrEqual(2048 + 1024);
    expect(mine.hit_ratio).toBeGreaterThan(0);
    expect(stats.windows["1h"].top[0]).toHaveProperty("path");
    const all = await json(await api("/stats"));
    expect(Object.keys(all.windows)).toEqual(["1h", "24h", "7d"]);
    expect((await api("/stats?window=2w")).status).toBe(400);
  });

  it("probes a path, and explains a denied one without asking the upstream", async () => {
    const ok = await json(await api("/probe", { method: "POST", body: JSON.stringify({ remote: files, path: "b.bin" }) }));
    expect(ok).toMatchObject({ ok: true, status: 200, size: 1024, classification: "immutable", fetched: true });
    expect(typeof ok.latency_ms).toBe("number");
    const denied = await json(await api("/probe", { method: "POST", body: JSON.stringify({ remote: files, path: "secret/x.txt" }) }));
    expect(denied).toMatchObject({ ok: false, classification: "denied", fetched: false });
    expect(denied.reason).toMatch(/blocklist/);
    expect(origin.count("/secret/x.txt")).toBe(0);
    const missing = await json(await api("/probe", { method: "POST", body: JSON.stringify({ remote: files, path: "none.bin" }) }));
    expect(missing).toMatchObject({ ok: false, status: 404 });
    expect((await api("/probe", { method: "POST", body: JSON.stringify({ remote: "nope", path: "x" }) })).status).toBe(404);
    expect((await api("/probe", { method: "POST", body: JSON.stringify({ remote: files }) })).status).toBe(400);
  });

  it("prefetches paths and patterns, reporting each", async () => {
    const result = await json(await api("/prefetch", { method: "POST", body: JSON.stringify({ remote: files, pattern: "pkg-1.{0,1}.tgz" }) }));
    expect(result).toMatchObject({ requested: 2, ok: 2, failed: 0 });
    expect(result.results.map((r: { path: string; source: string }) => [r.path, r.source])).toEqual([
      ["pkg-1.0.tgz", "remote"],
      ["pkg-1.1.tgz", "remote"],
    ]);
    const cached = await fetch(`${stack.url}/api/v1/remote/${files}/pkg-1.1.tgz`);
    expect(cached.headers.get("x-artifact-source")).toBe("cache");
    const mixed = await json(await api("/prefetch", { method: "POST", body: JSON.stringify({ remote: files, paths: ["pkg-1.0.tgz", "missing.tgz", "secret/x.txt"] }) }));
    expect(mixed.results.map((r: { status: number }) => r.status)).toEqual([200, 404, 403]);
    expect(mixed.failed).toBe(2);
    const tooManyPaths = await api("/prefetch", { method: "POST", body: JSON.stringify({ remote: files, paths: Array.from({ length: 101 }, (_, i) => `many/${i}.bin`) }) });
    expect(tooManyPaths.status).toBe(400);
    expect((await json(tooManyPaths)).error).toMatchObject({ code: "INVALID_BODY", message: expect.stringMatching(/^paths: .*100/) });
    const tooManyExpanded = await api("/prefetch", { method: "POST", body: JSON.stringify({ remote: files, pattern: "x{1..500}" }) });
    expect(tooManyExpanded.status).toBe(400);
    expect((await json(tooManyExpanded)).error).toMatchObject({ code: "BAD_PATTERN", message: expect.stringMatching(/more than 100/) });
    expect(origin.requests.filter((r) => r.path.startsWith("/many/") || r.path.startsWith("/x"))).toEqual([]);
  });

  it("refuses a pattern that expands past the limit at once, without building the range", async () => {
    for (const pattern of ["x{1..999999999}", "{a,b}".repeat(60)]) {
      const response = await api("/prefetch", { method: "POST", body: JSON.stringify({ remote: files, pattern }) });
      expect(response.status).toBe(400);
      expect(await json(response)).toMatchObject({ error: { code: "BAD_PATTERN", message: expect.stringMatching(/more than 100 paths/) } });
    }
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
  });

  it("needs Content-Type: application/json on writes (415), so a cross-site form cannot write", async () => {
    const name = uniqueName("ctype");
    const body = JSON.stringify({ base_url: "https://example.org" });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const refused = await api(`/remotes/${name}`, { method: "PUT", body, headers: { "content-type": type } });
      expect(refused.status).toBe(415);
      expect(await json(refused)).toMatchObject({ error: { code: "UNSUPPORTED_MEDIA_TYPE", message: expect.stringMatching(/Content-Type: application\/json/) } });
    }
    const untyped = await fetch(`${stack.url}/api/v2/prefetch`, { method: "POST", headers: { authorization: `Bearer ${admin}` }, body: new Blob([body]) });
    expect(untyped.status).toBe(415);
    expect((await api(`/remotes/${name}`)).status).toBe(404);
    // Parameters are fine; reads and deletes carry no body and need no type.
    expect((await api(`/remotes/${name}`, { method: "PUT", body, headers: { "content-type": "application/json; charset=utf-8" } })).status).toBe(201);
    expect((await api(`/remotes/${name}`)).status).toBe(200);
    expect((await api(`/remotes/${name}`, { method: "DELETE" })).status).toBe(204);
  });

  it("refuses patterns RE2 cannot run, and matches catastrophic ones in linear time", async () => {
    const name = uniqueName("re2");
    const refused = await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ base_url: origin.url, allow_private_network: true, blocklist: ["(a)\\1"] }) });
    expect(refused.status).toBe(400);
    expect((await json(refused)).error.message).toMatch(new RegExp(`remote '${name}': key 'blocklist\\[0\\]': is not a supported regular expression .*RE2`));
    const hostile = await api(`/remotes/${name}`, { method: "PUT", body: JSON.stringify({ base_url: origin.url, allow_private_network: true, patterns: ["^(a+)+$"] }) });
    expect(hostile.status).toBe(201);
    // A backtracking engine would spend 2^50 steps on this path; the isolate answers at once.
    await eventually(async () => expect((await fetch(`${stack.url}/api/v1/remote/${name}/${"a".repeat(50)}!`)).status).toBe(403));
    expect((await fetch(`${stack.url}/api/v1/remote/${name}/a.bin`)).status).toBe(403);
    expect((await fetch(`${stack.url}/api/v1/remote/${name}/aaa`)).status).toBe(404);
  });

  it("lists only public remotes at the root, private ones to a token that may read them", async () => {
    const names = async (headers: Record<string, string> = {}) => (await json(await fetch(`${stack.url}/`, { headers }))).remotes.map((r: { name: string }) => r.name);
    const anonymous = await names();
    expect(anonymous).toContain(files);
    expect(anonymous).not.toContain(locked);
    expect(await names({ authorization: "Bearer wrong" })).not.toContain(locked);
    expect(await names({ authorization: "Bearer pull-token" })).toContain(locked);
    expect(await names({ authorization: `Bearer ${reader}` })).toEqual(expect.arrayContaining([files, locked]));
  });

  it("serves a private remote only with a token, Bearer or Basic password", async () => {
    const url = `${stack.url}/api/v1/remote/${locked}/b.bin`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic/);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer pull-token" } })).status).toBe(200);
    const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString("base64")}`;
    expect((await fetch(url, { headers: { authorization: basic("pull-token") } })).status).toBe(200);
    // A management token (admin or read) opens every private remote.
    for (const token of [admin, reader]) {
      expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await fetch(url, { headers: { authorization: basic(token) } })).status).toBe(200);
    }
    const read = await api(`/remotes/${locked}`);
    expect(await read.text()).not.toContain("pull-token");
  });

  it("takes a private remote's read tokens from the variable read_tokens_env names", async () => {
    const url = `${stack.url}/api/v1/remote/${lockedByEnv}/b.bin`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer pull-token" } })).status).toBe(401);
    // Each token of the comma-separated list works.
    expect((await fetch(url, { headers: { authorization: "Bearer env-pull-1" } })).status).toBe(200);
    const basic = `Basic ${Buffer.from("anyone:env-pull-2").toString("base64")}`;
    expect((await fetch(url, { headers: { authorization: basic } })).status).toBe(200);
  });

  it("publishes an OpenAPI document generated from the schemas", async () => {
    const doc = await json(await api("/openapi.json", { token: reader }));
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/remotes", "/remotes/{name}", "/remotes/{name}/objects", "/stats", "/probe", "/prefetch", "/events"]));
    expect(doc.components.schemas.Remote.properties).toHaveProperty("base_url");
  });

  it("documents a virtual's own routes in the OpenAPI document: reads, writes to default_local, docker under /v2/", async () => {
    const doc = await json(await api("/openapi.json", { token: reader }));
    const virtual = doc.paths["/api/v1/virtual/{name}/{path}"];
    expect(Object.keys(virtual)).toEqual(expect.arrayContaining(["get", "head", "put", "post", "delete"]));
    // Served beside the management API, not under its /api/v2 server.
    expect(virtual.servers).toEqual([{ url: "/" }]);
    expect(virtual.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(["name", "path"]);
    expect(Object.keys(virtual.get.responses)).toEqual(expect.arrayContaining(["200", "403", "404", "502"]));
    expect(Object.keys(virtual.get.responses["200"].headers)).toEqual(expect.arrayContaining(["X-Artifact-Member", "X-Artifact-Partial"]));
    expect(virtual.put.responses["405"].description).toContain("default_local");
    expect(doc.paths["/api/v1/virtual/{name}"].post.summary).toContain("twine");
    expect(Object.keys(doc.paths["/v2/{name}/{path}"])).toEqual(expect.arrayContaining(["get", "head", "post", "patch", "put"]));
    expect(doc.components.securitySchemes.repositoryToken.type).toBe("http");
  });
});
