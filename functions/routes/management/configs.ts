import { Hono, type Context } from "hono";
import { z } from "zod";
import type { ConfigKind } from "../../../infra/meta/types.ts";
import type { AppEnv } from "../../context.ts";
import { CONFIG_VERSION_KEY } from "../../config/cache.ts";
import { ConfigError, parseRemote, remoteName } from "../../config/schema.ts";
import { virtualSchema } from "../../config/virtual.ts";
import { jsonError } from "../../errors.ts";
import { purgeRemote } from "../../maintenance/orphans.ts";
import { describeIssues, parseBody } from "./body.ts";
import { logEvent } from "./event-log.ts";
import { redactSecrets, restoreSecrets } from "./secrets.ts";

type Json = Record<string, unknown>;

/** Validates one item of a kind into what is stored (defaults filled in, name left out); throws a message. */
type Validator = (c: Context<AppEnv>, name: string, config: Json) => Promise<Json>;

const validators: Record<ConfigKind, Validator> = {
  remotes: async (_c, name, config) => {
    try {
      const { name: _, ...stored } = parseRemote(name, config);
      return stored;
    } catch (error) {
      throw new InvalidConfig(error instanceof ConfigError ? error.problems.join("; ") : (error as Error).message);
    }
  },
  virtuals: async (c, name, config) => {
    const parsed = virtualSchema.safeParse(config);
    if (!parsed.success) throw new InvalidConfig(`virtual '${name}': ${describeIssues(parsed.error)}`);
    const remotes = new Map((await c.var.stores.meta.listRemotes()).map((row) => [row.name, row.config as Json]));
    for (const member of parsed.data.remotes) {
      const remote = remotes.get(member);
      if (!remote) throw new InvalidConfig(`virtual '${name}': no remote named '${member}'`);
      if (remote.package !== parsed.data.package) {
        throw new InvalidConfig(`virtual '${name}': remote '${member}' is package '${String(remote.package)}', not '${parsed.data.package}'`);
      }
    }
    return parsed.data;
  },
};

class InvalidConfig extends Error {}

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
    return c.json({ [kind]: rows.map((row) => present(row.name, row.config as Json)) });
  });

  routes.get("/:name", async (c) => {
    const row = await c.var.stores.meta.getConfig(kind, c.req.param("name"));
    return row ? c.json(present(row.name, row.config as Json)) : notFound(c.req.param("name"));
  });

  routes.post("/", async (c) => {
    const body = await parseBody(c, objectBody);
    if (body instanceof Response) return body;
    const name = body.name;
    if (typeof name !== "string") return jsonError(400, "INVALID_BODY", "name: required");
    if (await c.var.stores.meta.getConfig(kind, name)) return jsonError(409, "ALREADY_EXISTS", `a ${label} named '${name}' exists; use PUT to replace it`);
    return write(c, name, body);
  });

  routes.put("/:name", async (c) => {
    const body = await parseBody(c, objectBody);
    if (body instanceof Response) return body;
    const name = c.req.param("name");
    if (body.name !== undefined && body.name !== name) return jsonError(400, "NAME_MISMATCH", `the body names '${String(body.name)}', the URL '${name}'`);
    return write(c, name, body);
  });

  routes.delete("/:name", async (c) => {
    const name = c.req.param("name");
    if (kind === "remotes") {
      const users = (await c.var.stores.meta.listConfigs("virtuals")).filter((v) => ((v.config as Json).remotes as string[]).includes(name));
      if (users.length > 0) return jsonError(409, "IN_USE", `remote '${name}' is a member of virtual ${users.map((v) => `'${v.name}'`).join(", ")}`);
    }
    if (!(await c.var.stores.meta.deleteConfig(kind, name))) return notFound(name);
    await changed(c, name, "deleted");
    // Its cached objects and state go now (best effort; the maintenance run purges what is left).
    if (kind === "remotes") c.var.background.run(purgeRemote(c.var.stores, name));
    return c.body(null, 204);
  });

  async function write(c: Context<AppEnv>, name: string, body: Json): Promise<Response> {
    const checkedName = remoteName.safeParse(name);
    if (!checkedName.success) return jsonError(400, "INVALID_NAME", `name '${name}': ${checkedName.error.issues[0]!.message}`);
    const { name: _, ...config } = body;
    const previous = await c.var.stores.meta.getConfig(kind, name);
    const restored = restoreSecrets(config, (previous?.config as Json) ?? null);
    if (restored.missing.length > 0) {
      return jsonError(400, "SECRET_NOT_SET", `${restored.missing.join(", ")}: sent as {"set": true} but no value is stored; send the value`);
    }
    let stored: Json;
    try {
      stored = await validators[kind](c, name, restored.config);
    } catch (error) {
      if (error instanceof InvalidConfig) return jsonError(400, "INVALID_CONFIG", error.message);
      throw error;
    }
    const dryRun = c.req.query("dry_run") === "true";
    const result = dryRun ? planned(previous?.config as Json | undefined, stored) : await c.var.stores.meta.putConfig(kind, { name, config: stored });
    if (!dryRun && result !== "unchanged") await changed(c, name, result);
    const status = result === "created" && !dryRun ? 201 : 200;
    return c.json({ ...present(name, stored), result, ...(dryRun ? { dry_run: true } : {}) }, status);
  }

  async function changed(c: Context<AppEnv>, name: string, action: string): Promise<void> {
    await c.var.stores.state.incr(CONFIG_VERSION_KEY);
    logEvent(c, "config.changed", kind === "remotes" ? name : undefined, { kind: label, name, action });
  }

  return routes;
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

function present(name: string, config: Json): Json {
  return { name, ...redactSecrets(config) };
}
