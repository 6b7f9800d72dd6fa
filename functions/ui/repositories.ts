import type { ConfigKind } from "../../infra/meta/types.ts";
import { currentRemotes } from "../config/cache.ts";
import { breakerOpenFor } from "../proxy/breaker.ts";
import { presentConfig } from "../routes/management/configs.ts";
import type { Stores } from "../stores.ts";

type Json = Record<string, unknown>;

/**
 * A configured repository as the pages show it, whatever its kind. Remotes and locals share the
 * remotes table and differ by their `type` (default "remote"); virtuals have their own table.
 */
export interface Repository {
  kind: ConfigKind;
  name: string;
  type: string;
  package: string;
  description: string;
  /** A remote's upstream. */
  upstream: string | null;
  /** A virtual's members, in order. */
  members: string[];
  private: boolean;
  hostnames: string[];
  /** As the management API reads it: secrets shown as {"set": true}. */
  config: Json;
}

export const KINDS: ConfigKind[] = ["remotes", "virtuals"];

export function isKind(value: string | undefined): value is ConfigKind {
  return value === "remotes" || value === "virtuals";
}

function describeRow(kind: ConfigKind, name: string, stored: Json): Repository {
  const config = presentConfig(name, stored);
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  return {
    kind,
    name,
    type: kind === "virtuals" ? "virtual" : typeof stored.type === "string" ? stored.type : "remote",
    package: typeof stored.package === "string" ? stored.package : "generic",
    description: typeof stored.description === "string" ? stored.description : "",
    upstream: typeof stored.base_url === "string" ? stored.base_url : null,
    members: list(stored.members ?? stored.remotes),
    private: stored.private === true,
    hostnames: list(stored.hostnames),
    config,
  };
}

export async function listRepositories(stores: Stores): Promise<Repository[]> {
  const [remotes, virtuals] = await Promise.all(KINDS.map((kind) => stores.meta.listConfigs(kind)));
  return [
    ...remotes!.map((row) => describeRow("remotes", row.name, row.config as Json)),
    ...virtuals!.map((row) => describeRow("virtuals", row.name, row.config as Json)),
  ];
}

export async function getRepository(stores: Stores, kind: ConfigKind, name: string): Promise<Repository | null> {
  const row = await stores.meta.getConfig(kind, name);
  return row ? describeRow(kind, row.name, row.config as Json) : null;
}

/** Seconds until each remote's circuit breaker closes again, for the remotes whose breaker is open. */
export async function openBreakers(stores: Stores): Promise<Map<string, number>> {
  const remotes = [...(await currentRemotes(stores)).values()];
  const open = await Promise.all(remotes.map(async (remote) => [remote.name, await breakerOpenFor(stores.state, remote)] as const));
  return new Map(open.filter(([, seconds]) => seconds > 0));
}

/** The repository's page. */
export const repositoryHref = (repository: Pick<Repository, "kind" | "name">) => `/ui/repositories/${repository.kind}/${encodeURIComponent(repository.name)}`;
