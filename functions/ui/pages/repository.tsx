import { Hono, type Context } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ConfigKind } from "../../../infra/meta/types.ts";
import { providers } from "../../../providers/index.ts";
import { isLocal, parseRepository, type FieldProblem, type RemoteConfig } from "../../config/schema.ts";
import { clientOrigin } from "../../proxy/proxy-base.ts";
import { deleteConfig, writeConfig } from "../../routes/management/configs.ts";
import { prefetch, prefetchBody, type PrefetchReport } from "../../routes/management/prefetch.ts";
import { classifyPath, probe, type ProbeReport } from "../../routes/management/probe.ts";
import { usageStats } from "../../routes/management/stats.ts";
import { bytes, count, ratio, seconds } from "../format.ts";
import { CsrfField, errorPage, Layout, Notice, render, DataTable } from "../layout.tsx";
import { getRepository, isKind, openBreakers, repositoryHref, type Repository } from "../repositories.ts";
import type { AppEnv } from "../../context.ts";
import { formField, formOf, sessionOf } from "../session.ts";
import { setupSnippets } from "../setup.ts";

type Json = Record<string, unknown>;

/** One input of the edit form, bound to one top-level key of the config. */
interface FieldSpec {
  key: string;
  label: string;
  input: "text" | "number" | "lines" | "bool" | "select";
  hint?: string;
  options?: string[];
}

const PATTERN_HINT = "Regular expressions, one per line, searched anywhere in the path.";

const FIELDS: Record<ConfigKind, FieldSpec[]> = {
  remotes: [
    { key: "description", label: "Description", input: "text" },
    { key: "base_url", label: "Upstream URL (base_url)", input: "text", hint: "http(s) only, no credentials in it." },
    { key: "package", label: "Package type", input: "select", options: Object.keys(providers) },
    { key: "patterns", label: "Allowed paths (patterns)", input: "lines", hint: `${PATTERN_HINT} Empty allows every path.` },
    { key: "blocklist", label: "Denied paths (blocklist)", input: "lines", hint: `${PATTERN_HINT} Checked first.` },
    { key: "mutable_patterns", label: "Always mutable (mutable_patterns)", input: "lines", hint: PATTERN_HINT },
    { key: "immutable_patterns", label: "Always immutable (immutable_patterns)", input: "lines", hint: PATTERN_HINT },
    { key: "mutable_ttl", label: "Mutable TTL (seconds)", input: "number", hint: "How long an index is fresh; 0 asks the upstream every time." },
    { key: "immutable_ttl", label: "Immutable TTL (seconds)", input: "number", hint: "0 keeps files forever." },
    { key: "upstream_timeout", label: "Upstream timeout (seconds)", input: "number" },
    { key: "hostnames", label: "Hostnames that serve it at their root", input: "lines", hint: "One per line." },
    { key: "file_hosts", label: "Extra file hosts (file_hosts)", input: "lines", hint: "Hosts besides the upstream's that linked files may come from." },
    { key: "allow_private_network", label: "Allow a private or loopback upstream", input: "bool" },
    { key: "private", label: "Private: serve only with a read token", input: "bool" },
  ],
  virtuals: [
    { key: "description", label: "Description", input: "text" },
    { key: "package", label: "Package type", input: "select", options: Object.keys(providers) },
    { key: "remotes", label: "Members, in the order they are asked", input: "lines", hint: "One repository name per line." },
    { key: "hostnames", label: "Hostnames that serve it at their root", input: "lines", hint: "One per line." },
  ],
};

/** The form's values over the stored config: keys the form does not show (auth, breaker, docker's) stay as they are. */
function applyForm(kind: ConfigKind, base: Json, form: Record<string, unknown>): Json {
  const config: Json = structuredClone(base);
  for (const field of FIELDS[kind]) {
    const raw = typeof form[field.key] === "string" ? (form[field.key] as string) : "";
    if (field.input === "bool") config[field.key] = raw === "on";
    else if (field.input === "lines") config[field.key] = raw.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "");
    else if (field.input === "number") {
      if (raw.trim() === "") delete config[field.key];
      // Kept as typed when it is not a number, so the schema's message names the field.
      else config[field.key] = /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw;
    } else config[field.key] = raw;
  }
  return config;
}

interface FormState {
  values: Json;
  problems: FieldProblem[];
  message?: string;
}

function EditForm({ repository, kind, state, csrf, isNew }: { repository: Pick<Repository, "name"> | null; kind: ConfigKind; state: FormState; csrf: JSX.Element; isNew: boolean }) {
  const problemsOf = (key: string) => state.problems.filter((problem) => problem.key === key);
  const shown = new Set(["name", ...FIELDS[kind].map((field) => field.key)]);
  const others = state.problems.filter((problem) => !shown.has(problem.key));
  const action = isNew ? `/ui/repositories/new/${kind}` : `${repositoryHref({ kind, name: repository!.name })}`;
  return (
    <form method="post" action={action} class="stack" novalidate>
      {csrf}
      {state.message && (
        <Notice kind="error">
          Not saved: {state.message}
          {others.length > 0 && (
            <ul>
              {others.map((problem) => (
                <li>{`${problem.key}: ${problem.message}`}</li>
              ))}
            </ul>
          )}
        </Notice>
      )}
      {isNew && <Field spec={{ key: "name", label: "Name", input: "text", hint: "Lowercase letters, digits, '.', '_' or '-'; used in URLs." }} value={state.values.name} problems={problemsOf("name")} />}
      {FIELDS[kind].map((spec) => (
        <Field spec={spec} value={state.values[spec.key]} problems={problemsOf(spec.key)} />
      ))}
      <div>
        <button type="submit">{isNew ? "Create" : "Save"}</button>
      </div>
    </form>
  );
}

function Field({ spec, value, problems }: { spec: FieldSpec; value: unknown; problems: FieldProblem[] }) {
  const id = `field-${spec.key}`;
  const described = [spec.hint ? `${id}-hint` : null, problems.length > 0 ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  const invalid = problems.length > 0 ? "true" : undefined;
  const hint = spec.hint && (
    <span id={`${id}-hint`} class="hint">
      {spec.hint}
    </span>
  );
  const error = problems.length > 0 && (
    <span id={`${id}-error`} class="error">
      {problems.map((problem) => problem.message).join("; ")}
    </span>
  );
  if (spec.input === "bool") {
    return (
      <div class="field">
        <div class="check">
          <input type="checkbox" id={id} name={spec.key} checked={value === true} aria-describedby={described} aria-invalid={invalid} />
          <label for={id}>{spec.label}</label>
        </div>
        {hint}
        {error}
      </div>
    );
  }
  const text = Array.isArray(value) ? value.join("\n") : value === undefined || value === null ? "" : String(value);
  return (
    <div class="field">
      <label for={id}>{spec.label}</label>
      {spec.input === "lines" ? (
        <textarea id={id} name={spec.key} rows={Math.max(2, text.split("\n").length + 1)} aria-describedby={described} aria-invalid={invalid}>
          {text}
        </textarea>
      ) : spec.input === "select" ? (
        <select id={id} name={spec.key} aria-describedby={described} aria-invalid={invalid}>
          {spec.options!.map((option) => (
            <option value={option} selected={option === text}>
              {option}
            </option>
          ))}
        </select>
      ) : (
        <input type="text" inputmode={spec.input === "number" ? "numeric" : undefined} id={id} name={spec.key} value={text} aria-describedby={described} aria-invalid={invalid} />
      )}
      {hint}
      {error}
    </div>
  );
}

/** What the repository page can show besides the repository: a path test, a probe, a prefetch, a form in error. */
interface PageExtras {
  form?: FormState;
  probe?: ProbeReport | { error: string };
  prefetch?: PrefetchReport | { error: string };
  saved?: string;
}

async function repositoryPage(c: Context<AppEnv>, repository: Repository, extras: PageExtras = {}, status: 200 | 400 = 200): Promise<Response> {
  const admin = sessionOf(c).access === "admin";
  const [stats, breakers] = await Promise.all([usageStats(c, ["24h"], 0), openBreakers(c.var.stores)]);
  const held = stats.storage[repository.name];
  const usage = stats.windows["24h"]!.remotes[repository.name];
  const origin = clientOrigin(c.req.raw, c.env);
  const snippets = setupSnippets(repository, origin);
  const testPath = c.req.query("test_path");
  const tested = testPath ? await testPathDecisions(c, repository, testPath) : null;
  const csrf = <CsrfField session={sessionOf(c)} />;
  const href = repositoryHref(repository);
  const isRemote = repository.kind === "remotes" && repository.type === "remote";

  return render(
    c,
    <Layout title={`${repository.name}`} session={sessionOf(c)} section="repositories">
      {extras.saved && <Notice>{extras.saved === "unchanged" ? "Nothing to save: the configuration is unchanged." : `Saved (${extras.saved}).`}</Notice>}
      <dl class="facts">
        <dt>Type</dt>
        <dd>
          <span class="badge">{repository.type}</span>
        </dd>
        <dt>Package</dt>
        <dd>{repository.package}</dd>
        {repository.description && (
          <>
            <dt>Description</dt>
            <dd>{repository.description}</dd>
          </>
        )}
        {repository.upstream && (
          <>
            <dt>Upstream</dt>
            <dd class="mono">{repository.upstream}</dd>
          </>
        )}
        {repository.kind === "virtuals" && (
          <>
            <dt>Members</dt>
            <dd>
              {repository.members.map((member, i) => (
                <>
                  {i > 0 && ", "}
                  <a href={repositoryHref({ kind: "remotes", name: member })}>{member}</a>
                </>
              ))}
            </dd>
          </>
        )}
        {isRemote && (
          <>
            <dt>TTLs</dt>
            <dd>
              mutable {seconds(repository.config.mutable_ttl)}, immutable {repository.config.immutable_ttl === 0 ? "forever" : seconds(repository.config.immutable_ttl)}
            </dd>
            <dt>Circuit breaker</dt>
            <dd>{breakers.has(repository.name) ? <span class="bad">open for {breakers.get(repository.name)} s</span> : <span class="ok">closed</span>}</dd>
          </>
        )}
        <dt>Stored</dt>
        <dd>
          <a href={`/ui/browse/${encodeURIComponent(repository.name)}`}>{count(held?.objects ?? 0)} objects</a>, {bytes(held?.bytes ?? 0)}
        </dd>
        <dt>Last 24 hours</dt>
        <dd>
          {count(usage?.requests ?? 0)} requests, hit ratio {ratio(usage?.hit_ratio)}, {bytes(usage?.bytes_saved ?? 0)} saved
        </dd>
      </dl>

      <section aria-labelledby="set-me-up">
        <h2 id="set-me-up">Set me up</h2>
        <p class="muted">
          For clients on <span class="mono">{origin.origin}</span>
          {repository.private && ": this repository is private, so put one of its read tokens where it says so"}.
        </p>
        {snippets.map((snippet) => (
          <div class="snippet">
            <div class="snippet-head">
              <h3 id={`snippet-${snippet.id}-title`}>{snippet.title}</h3>
              <span>
                <button type="button" class="secondary" data-copy={`snippet-${snippet.id}`} aria-label={`Copy: ${snippet.title}`} hidden>
                  Copy
                </button>{" "}
                <span id={`snippet-${snippet.id}-status`} role="status" class="muted"></span>
              </span>
            </div>
            <pre id={`snippet-${snippet.id}`} data-file={snippet.file} aria-labelledby={`snippet-${snippet.id}-title`} tabindex={0}>
              {snippet.text}
            </pre>
          </div>
        ))}
      </section>

      {(isRemote || repository.kind === "virtuals") && (
        <section aria-labelledby="path-tester">
          <h2 id="path-tester">Path tester</h2>
          <p class="muted">Which rule decides a path: denied, mutable or immutable. Nothing is fetched.</p>
          <form method="get" action={`${href}#path-tester`} class="inline">
            <div class="field">
              <label for="test-path">Path</label>
              <input id="test-path" name="test_path" type="text" value={testPath ?? ""} />
            </div>
            <button type="submit">Test</button>
          </form>
          {tested && (
            <DataTable label="Path test result" columns={["Repository", "Decision", "Because"]}>
              {tested.map((row) => (
                <tr>
                  <td>{row.remote}</td>
                  <td>
                    <strong class={row.kind === "denied" ? "bad" : undefined} data-decision={row.kind}>
                      {row.kind}
                    </strong>
                  </td>
                  <td>{row.reason}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </section>
      )}

      {admin && isRemote && (
        <section aria-labelledby="probe-heading">
          <h2 id="probe-heading">Probe</h2>
          <p class="muted">Fetches one path from the upstream without storing it, and reports what came back.</p>
          <form method="post" action={`${href}/probe#probe-heading`} class="inline">
            {csrf}
            <div class="field">
              <label for="probe-path">Path</label>
              <input id="probe-path" name="path" type="text" required value={extras.probe && "path" in extras.probe ? extras.probe.path : ""} />
            </div>
            <button type="submit">Probe</button>
          </form>
          {extras.probe && "error" in extras.probe && typeof extras.probe.error === "string" && <Notice kind="error">{extras.probe.error}</Notice>}
          {extras.probe && "classification" in extras.probe && <ProbeResult report={extras.probe} />}
        </section>
      )}

      {admin && isRemote && (
        <section aria-labelledby="prefetch-heading">
          <h2 id="prefetch-heading">Prefetch</h2>
          <p class="muted">Warms the cache, as a client's first request would: at most 100 paths, 4 at a time.</p>
          <form method="post" action={`${href}/prefetch#prefetch-heading`} class="stack">
            {csrf}
            <div class="field">
              <label for="prefetch-paths">Paths, one per line</label>
              <textarea id="prefetch-paths" name="paths" aria-describedby="prefetch-hint"></textarea>
              <span id="prefetch-hint" class="hint">
                Or leave empty and give a pattern below.
              </span>
            </div>
            <div class="field">
              <label for="prefetch-pattern">Pattern with braces</label>
              <input id="prefetch-pattern" name="pattern" type="text" aria-describedby="prefetch-pattern-hint" />
              <span id="prefetch-pattern-hint" class="hint">
                For example pkg-{"{"}1.0,1.1{"}"}.tgz or v{"{"}1..3{"}"}/app.bin
              </span>
            </div>
            <div>
              <button type="submit">Prefetch</button>
            </div>
          </form>
          {extras.prefetch && "error" in extras.prefetch && <Notice kind="error">{extras.prefetch.error}</Notice>}
          {extras.prefetch && "results" in extras.prefetch && <PrefetchResult report={extras.prefetch} />}
        </section>
      )}

      <section aria-labelledby="config-heading">
        <h2 id="config-heading">Configuration</h2>
        {admin ? (
          <EditForm repository={repository} kind={repository.kind} state={extras.form ?? { values: repository.config, problems: [] }} csrf={csrf} isNew={false} />
        ) : (
          <pre tabindex={0} aria-label="Configuration (secrets hidden)">
            {JSON.stringify(repository.config, null, 2)}
          </pre>
        )}
      </section>

      {admin && (
        <section aria-labelledby="delete-heading">
          <h2 id="delete-heading">Delete</h2>
          <p>
            <a class="button secondary" href={`${href}/delete`}>
              Delete {repository.name}…
            </a>
          </p>
        </section>
      )}
    </Layout>,
    status,
  );
}

function ProbeResult({ report }: { report: ProbeReport }) {
  return (
    <dl class="facts" aria-label="Probe result">
      <dt>Result</dt>
      <dd>
        <strong class={report.ok ? "ok" : "bad"}>{report.ok ? "ok" : "failed"}</strong>
      </dd>
      <dt>Classification</dt>
      <dd>
        {report.classification}: {report.reason}
      </dd>
      {report.upstream_url && (
        <>
          <dt>Upstream URL</dt>
          <dd class="mono">{report.upstream_url}</dd>
        </>
      )}
      {report.status !== undefined && (
        <>
          <dt>Status</dt>
          <dd>{report.status}</dd>
          <dt>Latency</dt>
          <dd>
            {report.latency_ms} ms to headers, {report.duration_ms} ms in all
          </dd>
          <dt>Size</dt>
          <dd>{bytes(report.size ?? 0)}</dd>
          <dt>Content type</dt>
          <dd>{report.content_type ?? "–"}</dd>
        </>
      )}
      {report.error && (
        <>
          <dt>Error</dt>
          <dd>
            {report.error.code}: {report.error.message}
          </dd>
        </>
      )}
      {report.cached && (
        <>
          <dt>In the cache</dt>
          <dd>{report.cached}</dd>
        </>
      )}
    </dl>
  );
}

function PrefetchResult({ report }: { report: PrefetchReport }) {
  return (
    <DataTable label="Prefetch results" columns={["Path", "Result", ["Size", "num"]]} caption={<>{report.ok} of {report.requested} paths ok, {report.failed} failed</>}>
      {report.results.map((result) => (
        <tr>
          <td class="path mono">{result.path}</td>
          <td class={result.ok ? "ok" : "bad"}>{result.ok ? (result.source === "cache" ? "already cached" : "fetched and stored") : `${result.status}: ${result.error}`}</td>
          <td class="num">{result.size === undefined ? "–" : bytes(result.size)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** The path tester: each remote's decision (a virtual's members, in order) for a path, without fetching. */
async function testPathDecisions(c: Context<AppEnv>, repository: Repository, path: string) {
  const names = repository.kind === "virtuals" ? repository.members : [repository.name];
  return Promise.all(
    names.map(async (name) => {
      const remote = await storedRemoteConfig(c, name);
      if (!remote) return { remote: name, kind: "denied", reason: "no such remote" };
      const decision = classifyPath(remote, path);
      return { remote: name, kind: decision.classification, reason: decision.reason };
    }),
  );
}

/** The stored remote of that name; null when there is none, or it is a local (nothing upstream to probe or classify). */
async function storedRemoteConfig(c: Context<AppEnv>, name: string): Promise<RemoteConfig | null> {
  const row = await c.var.stores.meta.getConfig("remotes", name);
  const repository = row ? parseRepository(row.name, row.config) : null;
  return repository && !isLocal(repository) ? repository : null;
}

async function messageOf(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  return body.error?.message ?? `status ${response.status}`;
}

export const repositoryRoutes = new Hono<AppEnv>();

function newPage(c: Context<AppEnv>, kind: ConfigKind, state: FormState, status: 200 | 400 = 200) {
  return render(
    c,
    <Layout title={kind === "remotes" ? "New remote" : "New virtual"} session={sessionOf(c)} section="repositories">
      <EditForm repository={null} kind={kind} state={state} csrf={<CsrfField session={sessionOf(c)} />} isNew={true} />
    </Layout>,
    status,
  );
}

repositoryRoutes.get("/new/:kind", (c) => {
  const kind = c.req.param("kind");
  if (!isKind(kind)) return errorPage(c, 404, "There is no such kind of repository.");
  if (sessionOf(c).access !== "admin") return errorPage(c, 403, "This session is read-only: sign in with an admin token to create repositories.");
  return newPage(c, kind, { values: kind === "remotes" ? { package: "generic", mutable_ttl: 300, immutable_ttl: 0 } : { package: "generic" }, problems: [] });
});

repositoryRoutes.post("/new/:kind", async (c) => {
  const kind = c.req.param("kind");
  if (!isKind(kind)) return errorPage(c, 404, "There is no such kind of repository.");
  const name = formField(c, "name").trim();
  const values = { ...applyForm(kind, {}, formOf(c)), name };
  if (await c.var.stores.meta.getConfig(kind, name)) return newPage(c, kind, { values, problems: [{ key: "name", message: `'${name}' exists already` }], message: "the name is taken" }, 400);
  const written = await writeConfig(c, kind, name, values, false);
  if (!written.ok) return newPage(c, kind, { values, problems: written.fields, message: written.message }, 400);
  return c.redirect(`${repositoryHref({ kind, name })}?saved=${written.result}`, 303);
});

/** Finds the repository of the URL, or answers 404. */
async function repositoryOf(c: Context<AppEnv>): Promise<Repository | Response> {
  const kind = c.req.param("kind");
  const repository = isKind(kind) ? await getRepository(c.var.stores, kind, c.req.param("name")!) : null;
  return repository ?? errorPage(c, 404, `There is no repository named '${c.req.param("name")}'.`);
}

repositoryRoutes.get("/:kind/:name", async (c) => {
  const repository = await repositoryOf(c);
  if (repository instanceof Response) return repository;
  return repositoryPage(c, repository, { saved: c.req.query("saved") });
});

repositoryRoutes.post("/:kind/:name", async (c) => {
  const repository = await repositoryOf(c);
  if (repository instanceof Response) return repository;
  const values = applyForm(repository.kind, repository.config, formOf(c));
  const written = await writeConfig(c, repository.kind, repository.name, values, false);
  if (!written.ok) return repositoryPage(c, repository, { form: { values, problems: written.fields, message: written.message } }, 400);
  return c.redirect(`${repositoryHref(repository)}?saved=${written.result}`, 303);
});

repositoryRoutes.post("/:kind/:name/probe", async (c) => {
  const repository = await repositoryOf(c);
  if (repository instanceof Response) return repository;
  const remote = await storedRemoteConfig(c, repository.name);
  if (!remote || repository.kind !== "remotes") return errorPage(c, 400, "Only remotes can be probed.");
  const path = formField(c, "path");
  const report = await probe(c, remote, path);
  return repositoryPage(c, repository, { probe: report instanceof Response ? { error: await messageOf(report) } : report });
});

repositoryRoutes.post("/:kind/:name/prefetch", async (c) => {
  const repository = await repositoryOf(c);
  if (repository instanceof Response) return repository;
  const remote = await storedRemoteConfig(c, repository.name);
  if (!remote || repository.kind !== "remotes") return errorPage(c, 400, "Only remotes can be prefetched.");
  const lines = formField(c, "paths").split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "");
  const pattern = formField(c, "pattern").trim();
  const body = prefetchBody.safeParse({ remote: remote.name, ...(lines.length > 0 ? { paths: lines } : {}), ...(pattern !== "" ? { pattern } : {}) });
  if (!body.success) return repositoryPage(c, repository, { prefetch: { error: body.error.issues.map((issue) => issue.message).join("; ") } }, 400);
  const report = await prefetch(c, remote, body.data.paths ? { paths: body.data.paths } : { pattern: body.data.pattern! });
  return repositoryPage(c, repository, { prefetch: report instanceof Response ? { error: await messageOf(report) } : report });
});

repositoryRoutes.get("/:kind/:name/delete", async (c) => {
  const repository = await repositoryOf(c);
  if (repository instanceof Response) return repository;
  if (sessionOf(c).access !== "admin") return errorPage(c, 403, "This session is read-only.");
  return render(
    c,
    <Layout title={`Delete ${repository.name}?`} session={sessionOf(c)} section="repositories">
      <p>
        The {repository.type} <strong>{repository.name}</strong> stops being served at once. Its cached objects stay until evicted.
      </p>
      <form method="post" action={`${repositoryHref(repository)}/delete`} class="inline">
        <CsrfField session={sessionOf(c)} />
        <button type="submit" class="danger">
          Delete {repository.name}
        </button>
        <a href={repositoryHref(repository)}>Cancel</a>
      </form>
    </Layout>,
  );
});

repositoryRoutes.post("/:kind/:name/delete", async (c) => {
  const repository = await repositoryOf(c);
  if (repository instanceof Response) return repository;
  const deleted = await deleteConfig(c, repository.kind, repository.name);
  if (deleted === null) return errorPage(c, 404, `There is no repository named '${repository.name}'.`);
  if (!deleted.ok) return errorPage(c, 409, deleted.message);
  return c.redirect("/ui/repositories", 303);
});
