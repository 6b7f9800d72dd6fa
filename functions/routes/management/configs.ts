import { Hono, type Context } from "hono";
import { z } from "zod";
import type { ConfigKind } from "../../../infra/meta/types.ts";
import type { AppEnv } from "../../context.ts";
import { CONFIG_VERSION_KEY } from "../../config/cache.ts";
import { ConfigError, parseRepository, remoteName, type FieldProblem } from "../../config/schema.ts";
import { memberProblem, virtualMembers, virtualSchema } from "../../config/virtual.ts";
import { jsonError } from "../../errors.ts";
import { purgeRemote } from "../../maintenance/orphans.ts";
import { describeIssues, parseBody } from "./body.ts";
import { logEvent } from "./event-log.ts";
import { redactSecrets, restoreSecrets } from "./secrets.ts";

type Json = Record<string, unknown>;

/** Validates one item of a kind into what is stored (defaults filled in, name left out); throws a message. */
type Validator = (c: Context<AppEnv>, name: string, config: Json) => Promise<Json>;

const validators: Record<ConfigKind, Validator> = {
  // Remotes and locals share the table and the endpoints: `type: local` in the body makes a local.
  remotes: async (_c, name, config) => {
    try {
      const { name: _, ...stored } = parseRepository(name, config);
      return stored;
    } catch (error) {
      if (error instanceof ConfigError) throw new InvalidConfig(error.problems.join("; "), error.fields);
      throw new InvalidConfig((error as Error).message);
    }
  },
  virtuals: async (c, name, config) => {
    const parsed = virtualSchema.safeParse(config);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => ({ key: String(issue.path[0] ?? ""), message: issue.message }));
      throw new InvalidConfig(`virtual '${name}': ${describeIssues(parsed.error)}`, fields);
    }
    const repositories = new Map((await c.var.stores.meta.listRemotes()).map((row) => [row.name, row.config as Json]));
    const virtuals = new Set((await c.var.stores.meta.listConfigs("virtuals")).map((row) => row.name));
    for (const member of parsed.data.members) {
      const problem = member === name ? `a virtual cannot be its own member` : memberProblem(parsed.data, member, repositories.get(member), virtuals.has(member));
      if (problem) throw new InvalidConfig(`virtual '${name}': ${problem}`, [{ key: "members", message: problem }]);
    }
    const defaultLocal = parsed.data.default_local;
    if (defaultLocal && repositories.get(defaultLocal)?.type !== "local") {
      const problem = `default_local '${defaultLocal}' is a remote; writes can only go to a local`;
      throw new InvalidConfig(`virtual '${name}': ${problem}`, [{ key: "default_local", message: problem }]);
    }
    return parsed.data;
  },
};

class InvalidConfig extends Error {
  readonly fields: FieldProblem[];
  constructor(message: string, fields: FieldProblem[] = []) {
    super(message);
    this.fields = fields;
  }
}

/** What a write did, or why it was refused (`fields`: the problems by top-level key, for a form). */
export type ConfigWrite = { ok: true; status: 200 | 201; result: "created" | "updated" | "unchanged"; item: Json; dryRun: boolean } | ConfigRefusal;
export type ConfigRefusal = { ok: false; status: 400 | 409; code: string; message: string; fields: FieldProblem[] };

const refused = (code: string, message: string, fields: FieldProblem[] = [], status: 400 | 409 = 400): ConfigRefusal => ({ ok: false, status, code, message, fields });

/**
 * Validates and stores one remote or virtual (the API's PUT/POST and the web UI's edit form):
 * secrets sent as `{"set": true}` keep their stored value; nothing is written when it is
 * refused or unchanged, or on a dry run. Every change bumps the config version and is an event.
 */
export async function writeConfig(c: Context<AppEnv>, kind: ConfigKind, name: string, body: Json, dryRun: boolean): Promise<ConfigWrite> {
  const checkedName = remoteName.safeParse(name);
  if (!checkedName.success) return refused("INVALID_NAME", `name '${name}': ${checkedName.error.issues[0]!.message}`, [{ key: "name", message: checkedName.error.issues[0]!.message }]);
  const { name: _, ...config } = body;
  const previous = await c.var.stores.meta.getConfig(kind, name);
  const restored = restoreSecrets(config, (previous?.config as Json) ?? null);
  if (restored.missing.length > 0) {
    return refused("SECRET_NOT_SET", `${restored.missing.join(", ")}: sent as {"set": true} but no value is stored; send the value`);
  }
  let stored: Json;
  try {
    stored = await validators[kind](c, name, restored.config);
  } catch (error) {
    if (error instanceof InvalidConfig) return refused("INVALID_CONFIG", error.message, error.fields);
    throw error;
  }
  const result = dryRun ? planned(previous?.config as Json | undefined, stored) : await c.var.stores.meta.putConfig(kind, { name, config: stored });
  if (!dryRun && result !== "unchanged") await configChanged(c, kind, name, result);
  return { ok: true, status: result === "created" && !dryRun ? 201 : 200, result, item: presentConfig(name, stored), dryRun };
}

/**
 * Deletes one remote or virtual; a remote that a virtual names is refused (409). Null when
 * there is no such item.
 */
export async function deleteConfig(c: Context<AppEnv>, kind: ConfigKind, name: string): Promise<{ ok: true } | ConfigRefusal | null> {
  if (kind === "remotes") {
    const users = (await c.var.stores.meta.listConfigs("virtuals")).filter((v) => virtualMembers(v.config as Json).includes(name));
    if (users.length > 0) return refused("IN_USE", `'${name}' is a member of virtual ${users.map((v) => `'${v.name}'`).join(", ")}; remove it from the virtual first`, [], 409);
  }
  if (!(await c.var.stores.meta.deleteConfig(kind, name))) return null;
  await configChanged(c, kind, name, "deleted");
  // Its cached objects and state go now (best effort; the maintenance run purges what is left).
  if (kind === "remotes") c.var.background.run(purgeRemote(c.var.stores, name));
  return { ok: true };
}

async function configChanged(c: Context<AppEnv>, kind: ConfigKind, name: string, action: string): Promise<void> {
  await c.var.stores.state.incr(CONFIG_VERSION_KEY);
  logEvent(c, "config.changed", kind === "remotes" ? name : undefined, { kind: kind === "remotes" ? "remote" : "virtual", name, action });
}

const objectBody = z.record(z.string(), z.unknown());

/**
 * `/remotes` and `/virtuals`: list, create (POST, 409 if it exists), read, create-or-replace
 * (PUT, idempotent; `?dry_run=true` reports without writing), delete. Every change bumps the
 * config version, so every isolate reloads within seconds, and is recorded as an event.
 */
export function configRoutes(kind: ConfigKind): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const label = kind === "remotes" ? "remote" : "virtual";
  const notFound = (name: string) => jsonError(404, `${label.toUpperCase()}_NOT_FOUND`, `no ${label} named '${name}'`);

  routes.get("/", async (c) => {
    const rows = await c.var.stores.meta.listConfigs(kind);
    return c.json({ [kind]: rows.map((row) => presentConfig(row.name, row.config as Json)) });
  });

  routes.get("/:name", async (c) => {
    const row = await c.var.stores.meta.getConfig(kind, c.req.param("name"));
    return row ? c.json(presentConfig(row.name, row.config as Json)) : notFound(c.req.param("name"));
  });

  routes.post("/", async (c) => {
    const body = await parseBody(c, objectBody);
    if (body instanceof Response) return body;
    const name = body.name;
    if (typeof name !== "string") return jsonError(400, "INVALID_BODY", "name: required");
    if (await c.var.stores.meta.getConfig(kind, name)) return jsonError(409, "ALREADY_EXISTS", `a ${label} named '${name}' exists; use PUT to replace it`);
    return answer(c, await writeConfig(c, kind, name, body, c.req.query("dry_run") === "true"));
  });

  routes.put("/:name", async (c) => {
    const body = await parseBody(c, objectBody);
    if (body instanceof Response) return body;
    const name = c.req.param("name");
    if (body.name !== undefined && body.name !== name) return jsonError(400, "NAME_MISMATCH", `the body names '${String(body.name)}', the URL '${name}'`);
    return answer(c, await writeConfig(c, kind, name, body, c.req.query("dry_run") === "true"));
  });

  routes.delete("/:name", async (c) => {
    const name = c.req.param("name");
    const deleted = await deleteConfig(c, kind, name);
    if (deleted === null) return notFound(name);
    return deleted.ok ? c.body(null, 204) : jsonError(deleted.status, deleted.code, deleted.message);
  });

  return routes;
}

function answer(c: Context<AppEnv>, write: ConfigWrite): Response {
  if (!write.ok) return jsonError(write.status, write.code, write.message);
  return c.json({ ...write.item, result: write.result, ...(write.dryRun ? { dry_run: true } : {}) }, write.status);
}

/** What a PUT would do, without doing it. */
function planned(previous: Json | undefined, next: Json): "created" | "updated" | "unchanged" {
  if (previous === undefined) return "created";
  return canonical(previous) === canonical(next) ? "unchanged" : "updated";
}

/** JSON with sorted keys, so equal configs compare equal whatever their key order (as jsonb does). */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Json).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A stored config as reads show it: named, secrets as `{"set": true}`. */
export function presentConfig(name: string, config: Json): Json {
  return { name, ...redactSecrets(config) };
}
