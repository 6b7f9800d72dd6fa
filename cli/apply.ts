import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { CliError, EXIT, type ApiClient } from "./client.ts";
import { table } from "./format.ts";

type Kind = "remotes" | "virtuals";
type Action = "create" | "update" | "delete" | "unchanged";

export interface PlannedChange {
  kind: Kind;
  name: string;
  action: Action;
  config?: Record<string, unknown>;
}

const documentSchema = z.object({
  remotes: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()).default({}),
  virtuals: z.record(z.string(), z.record(z.string(), z.unknown()).nullable()).default({}),
});

/** The desired state: a remotes file (the same YAML `npm start` reads), optionally with `virtuals:`. */
export async function readDesired(file: string): Promise<z.output<typeof documentSchema>> {
  let document: unknown;
  try {
    document = parseYaml(await readFile(file, "utf8")) ?? {};
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`, EXIT.usage);
  }
  const parsed = documentSchema.safeParse(document);
  if (!parsed.success) throw new CliError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`, EXIT.usage);
  return parsed.data;
}

/**
 * What applying the file would change. The server decides create/update/unchanged itself
 * (PUT ?dry_run=true), since only it knows the stored secrets; what the file leaves out is deleted.
 */
export async function plan(client: ApiClient, desired: z.output<typeof documentSchema>): Promise<PlannedChange[]> {
  const changes: PlannedChange[] = [];
  for (const kind of ["remotes", "virtuals"] as const) {
    const current = (await client.request<Record<Kind, { name: string }[]>>("GET", `/${kind}`))[kind].map((item) => item.name);
    for (const [name, config] of Object.entries(desired[kind])) {
      // A virtual over members this apply creates cannot be checked before they exist: the server checks it when it is written.
      if (kind === "virtuals" && namesMember(config, changes)) {
        changes.push({ kind, name, action: current.includes(name) ? "update" : "create", config: config ?? {} });
        continue;
      }
      const result = await client.request<{ result: "created" | "updated" | "unchanged" }>("PUT", `/${kind}/${encodeURIComponent(name)}?dry_run=true`, config ?? {});
      changes.push({ kind, name, action: result.result === "created" ? "create" : result.result === "updated" ? "update" : "unchanged", config: config ?? {} });
    }
    for (const name of current) if (!(name in desired[kind])) changes.push({ kind, name, action: "delete" });
  }
  return changes;
}

/** Whether a virtual's members (`members`, or the earlier `remotes`) include a remote or local this apply creates. */
function namesMember(config: Record<string, unknown> | null, changes: PlannedChange[]): boolean {
  const members = config?.members ?? config?.remotes;
  const created = new Set(changes.filter((change) => change.kind === "remotes" && change.action === "create").map((change) => change.name));
  return Array.isArray(members) && members.some((member) => created.has(member as string));
}

/** Creates and updates remotes before virtuals (members first), deletes virtuals before remotes. */
export async function execute(client: ApiClient, changes: PlannedChange[]): Promise<void> {
  const order = (change: PlannedChange) => (change.action === "delete" ? (change.kind === "virtuals" ? 2 : 3) : change.kind === "remotes" ? 0 : 1);
  for (const change of [...changes].sort((a, b) => order(a) - order(b))) {
    const path = `/${change.kind}/${encodeURIComponent(change.name)}`;
    if (change.action === "delete") await client.request("DELETE", path);
    else if (change.action !== "unchanged") await client.request("PUT", path, change.config);
  }
}

export function describePlan(changes: PlannedChange[]): string {
  const counts = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const change of changes) counts[change.action]++;
  const rows = changes.map((change) => [change.action, change.kind.slice(0, -1), change.name]);
  const summary = `Plan: ${counts.create} to create, ${counts.update} to update, ${counts.delete} to delete, ${counts.unchanged} unchanged.`;
  return rows.length > 0 ? `${table(["ACTION", "KIND", "NAME"], rows)}\n\n${summary}` : summary;
}
