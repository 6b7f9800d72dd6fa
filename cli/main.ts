/**
 * `artifactapi`: the management API from a terminal. Human tables by default, `--json` for
 * scripts; exit codes: 0 ok, 1 failed, 2 usage, 3 auth (401/403), 4 not found, 5 unreachable.
 */
import { parseArgs } from "node:util";
import { describePlan, execute, plan, readDesired } from "./apply.ts";
import { ApiClient, CliError, EXIT, readEvents } from "./client.ts";
import { bytes, eventLine, ratio, table } from "./format.ts";
import { runDashboard } from "./tui.ts";

const USAGE = `usage: artifactapi [--endpoint URL] [--token TOKEN] [--json] <command>

commands:
  remotes list                      all remotes
  remotes get NAME                  one remote (secrets shown as {"set": true})
  remotes apply -f FILE [--dry-run] make the remotes (and virtuals) match a YAML file
  remotes delete NAME
  virtuals list                     all virtual repositories (members in order)
  virtuals get NAME
  virtuals delete NAME
  upload LOCAL PATH FILE            put FILE into a local repository at PATH (streamed, sha256 checked)
  objects ls REMOTE [--prefix P] [--limit N] [--all]
  objects evict REMOTE (--path PATH | --prefix P)
  stats [--window 1h|24h|7d]
  probe REMOTE PATH                 fetch through the remote without caching; explain denials
  prefetch REMOTE (PATH... | --pattern 'pkg-{1.0,1.1}.tgz')
  events [--backlog N]              follow the live event stream
  health                            backends' health (no token needed; latency and errors with one)
  tui                               live dashboard (q to quit)

environment: ARTIFACTAPI_ENDPOINT (default http://127.0.0.1:8000), ARTIFACTAPI_TOKEN
exit codes: 0 ok, 1 failed, 2 usage, 3 unauthorized/forbidden, 4 not found, 5 unreachable`;

const { values: options, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        endpoint: { type: "string" },
        token: { type: "string" },
        json: { type: "boolean", default: false },
        file: { type: "string", short: "f" },
        "dry-run": { type: "boolean", default: false },
        prefix: { type: "string" },
        path: { type: "string" },
        limit: { type: "string" },
        all: { type: "boolean", default: false },
        window: { type: "string" },
        pattern: { type: "string" },
        backlog: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(EXIT.usage);
  }
})();

const client = new ApiClient({
  endpoint: options.endpoint ?? process.env.ARTIFACTAPI_ENDPOINT ?? "http://127.0.0.1:8000",
  token: options.token ?? process.env.ARTIFACTAPI_TOKEN,
});

function usage(message: string): never {
  throw new CliError(`${message}\n\n${USAGE}`, EXIT.usage);
}

/** Prints the JSON as it came with --json, or the human form. */
function output(json: unknown, human: () => string): void {
  console.log(options.json ? JSON.stringify(json, null, 2) : human());
}

const [command, sub, ...rest] = positionals;
const enc = encodeURIComponent;

async function run(): Promise<number> {
  if (options.help || !command) {
    console.log(USAGE);
    return options.help ? EXIT.ok : EXIT.usage;
  }
  switch (command) {
    case "remotes":
      return remotes();
    case "virtuals":
      return virtuals();
    case "objects":
      return objects();
    case "upload": {
      if (!sub || rest.length !== 2) usage("upload needs LOCAL, PATH and FILE");
      const stored = await client.upload(sub, rest[0]!, rest[1]!);
      output(stored, () => `${stored.result} ${stored.url}\n${bytes(stored.size)}, sha256 ${stored.sha256}`);
      return EXIT.ok;
    }
    case "stats": {
      const window = options.window ?? "24h";
      const stats = await client.request("GET", `/stats?window=${enc(window)}`);
      const data = stats.windows[window];
      output(stats, () => {
        const rows = Object.entries(data.remotes as Record<string, any>).map(([name, s]) => [name, s.requests, s.hits, s.misses, ratio(s.hit_ratio), s.errors, bytes(s.bytes_served), bytes(s.bytes_fetched), bytes(s.bytes_saved)]);
        const o = data.overall;
        rows.push(["(all)", o.requests, o.hits, o.misses, ratio(o.hit_ratio), o.errors, bytes(o.bytes_served), bytes(o.bytes_fetched), bytes(o.bytes_saved)]);
        const top = data.top.map((t: any) => [t.remote, t.path, t.requests, bytes(t.bytes_served)]);
        return `window ${window}\n${table(["REMOTE", "REQUESTS", "HITS", "MISSES", "HIT RATIO", "ERRORS", "SERVED", "FETCHED", "SAVED"], rows)}\n\ntop artifacts\n${table(["REMOTE", "PATH", "REQUESTS", "SERVED"], top)}`;
      });
      return EXIT.ok;
    }
    case "probe": {
      if (!sub || rest.length !== 1) usage("probe needs REMOTE and PATH");
      const report = await client.request("POST", "/probe", { remote: sub, path: rest[0] });
      output(report, () =>
        table(
          ["FIELD", "VALUE"],
          Object.entries(report).map(([key, value]) => [key, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)]),
        ),
      );
      return report.ok ? EXIT.ok : EXIT.failed;
    }
    case "prefetch": {
      if (!sub) usage("prefetch needs REMOTE");
      if ((rest.length > 0) === (options.pattern !== undefined)) usage("prefetch needs PATH... or --pattern, not both");
      const body = options.pattern !== undefined ? { remote: sub, pattern: options.pattern } : { remote: sub, paths: rest };
      const result = await client.request("POST", "/prefetch", body);
      output(result, () => `${table(["PATH", "STATUS", "SOURCE", "SIZE", "ERROR"], result.results.map((r: any) => [r.path, r.status, r.source, bytes(r.size), r.error]))}\n\n${result.ok} ok, ${result.failed} failed`);
      return result.failed === 0 ? EXIT.ok : EXIT.failed;
    }
    case "events": {
      const backlog = options.backlog ?? "0";
      for (let lastId: string | undefined; ; ) {
        // The server ends a stream after a few minutes; reconnect where it stopped.
        const response = await client.raw("GET", `/events?backlog=${enc(backlog)}`, undefined, lastId ? { "last-event-id": lastId } : {});
        for await (const event of readEvents(response.body!)) {
          lastId = event.id || lastId;
          console.log(options.json ? event.data : eventLine(JSON.parse(event.data)));
        }
      }
    }
    case "health": {
      // With a token the report has each backend's latency and error; without, up/down only.
      const response = await client.send("GET", "/health");
      const health = (await response.json()) as { status: string; backends: { name: string; status: string; latency_ms?: number; error?: string }[] };
      const latency = (ms: number | undefined) => (ms === undefined ? undefined : `${ms} ms`);
      output(health, () => `status: ${health.status}\n${table(["BACKEND", "STATUS", "LATENCY", "ERROR"], health.backends.map((b) => [b.name, b.status, latency(b.latency_ms), b.error]))}`);
      return health.status === "ok" ? EXIT.ok : EXIT.failed;
    }
    case "tui":
      await runDashboard(client);
      return EXIT.ok;
    default:
      usage(`unknown command '${command}'`);
  }
}

async function remotes(): Promise<number> {
  switch (sub) {
    case "list": {
      const result = await client.request("GET", "/remotes");
      output(result, () => table(["NAME", "PACKAGE", "BASE URL", "PRIVATE", "DESCRIPTION"], result.remotes.map((r: any) => [r.name, r.package, r.base_url ?? "(local)", r.private ? "yes" : "no", r.description])));
      return EXIT.ok;
    }
    case "get": {
      if (rest.length !== 1) usage("remotes get needs NAME");
      const remote = await client.request("GET", `/remotes/${enc(rest[0]!)}`);
      output(remote, () => JSON.stringify(remote, null, 2));
      return EXIT.ok;
    }
    case "delete": {
      if (rest.length !== 1) usage("remotes delete needs NAME");
      await client.request("DELETE", `/remotes/${enc(rest[0]!)}`);
      output({ deleted: rest[0] }, () => `deleted remote ${rest[0]}`);
      return EXIT.ok;
    }
    case "apply": {
      if (!options.file) usage("remotes apply needs -f FILE");
      const changes = await plan(client, await readDesired(options.file));
      const dryRun = options["dry-run"];
      if (!dryRun) await execute(client, changes);
      output({ dry_run: dryRun, changes: changes.map(({ kind, name, action }) => ({ kind, name, action })) }, () => `${describePlan(changes)}${dryRun ? "\n(dry run: nothing changed)" : changes.some((c) => c.action !== "unchanged") ? "\nApplied." : ""}`);
      return EXIT.ok;
    }
    default:
      usage("remotes needs list, get, apply or delete");
  }
}

/** Virtuals are created and changed with `remotes apply -f` (a `virtuals:` section) or the API; listed and removed here. */
async function virtuals(): Promise<number> {
  switch (sub) {
    case "list": {
      const result = await client.request("GET", "/virtuals");
      output(result, () => table(["NAME", "PACKAGE", "MEMBERS", "DEFAULT LOCAL", "PRIVATE"], result.virtuals.map((v: any) => [v.name, v.package, (v.members ?? v.remotes ?? []).join(", "), v.default_local ?? "", v.private ? "yes" : "no"])));
      return EXIT.ok;
    }
    case "get": {
      if (rest.length !== 1) usage("virtuals get needs NAME");
      const virtual = await client.request("GET", `/virtuals/${enc(rest[0]!)}`);
      output(virtual, () => JSON.stringify(virtual, null, 2));
      return EXIT.ok;
    }
    case "delete": {
      if (rest.length !== 1) usage("virtuals delete needs NAME");
      await client.request("DELETE", `/virtuals/${enc(rest[0]!)}`);
      output({ deleted: rest[0] }, () => `deleted virtual ${rest[0]}`);
      return EXIT.ok;
    }
    default:
      usage("virtuals needs list, get or delete (create them with remotes apply -f or the API)");
  }
}

async function objects(): Promise<number> {
  const remote = rest[0];
  if (!remote) usage(`objects ${sub ?? ""} needs REMOTE`);
  switch (sub) {
    case "ls": {
      const all: any[] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ prefix: options.prefix ?? "", limit: options.limit ?? "100" });
        if (cursor) query.set("cursor", cursor);
        const page: { objects: any[]; next_cursor: string | null } = await client.request("GET", `/remotes/${enc(remote)}/objects?${query}`);
        all.push(...page.objects);
        cursor = page.next_cursor;
      } while (cursor && options.all);
      output({ objects: all, next_cursor: cursor }, () => table(["PATH", "SIZE", "HITS", "FETCHED", "LAST ACCESS", "SHA256"], all.map((o) => [o.path, bytes(o.size), o.hits, o.fetched_at, o.last_access, o.sha256.slice(0, 12)])) + (cursor ? "\n(more: --all)" : ""));
      return EXIT.ok;
    }
    case "evict": {
      if ((options.path === undefined) === (options.prefix === undefined)) usage("objects evict needs --path or --prefix");
      const query = options.path !== undefined ? `path=${enc(options.path)}` : `prefix=${enc(options.prefix!)}`;
      const result = await client.request("DELETE", `/remotes/${enc(remote)}/objects?${query}`);
      output(result, () => `evicted ${result.evicted} object(s), deleted ${result.blobs_deleted} blob(s)`);
      return EXIT.ok;
    }
    default:
      usage("objects needs ls or evict");
  }
}

try {
  process.exitCode = await run();
} catch (error) {
  if (error instanceof CliError) {
    console.error(`artifactapi: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    console.error(`artifactapi: ${(error as Error).stack ?? error}`);
    process.exitCode = EXIT.failed;
  }
}
