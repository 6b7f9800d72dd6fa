import { z } from "zod";
import { providers } from "../../providers/index.ts";
import { patternProblem } from "../../providers/patterns.ts";
import { isPrivateHost } from "../proxy/network-policy.ts";
import { memberProblem, virtualSchema, type VirtualConfig } from "./virtual.ts";

/** A path pattern in RE2 syntax (providers/patterns.ts): refused here if the linear-time engine cannot run it. */
const regex = z.string().superRefine((pattern, ctx) => {
  const problem = patternProblem(pattern);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A secret comes inline from the file, or (`*_env`) from the named environment variable / Worker secret. */
const inlineSecret = z.string().min(1).optional();
const secretEnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name").optional();

const authSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("bearer"), token: inlineSecret, token_env: secretEnvName }),
  z.strictObject({ type: z.literal("basic"), username: z.string().min(1), password: inlineSecret, password_env: secretEnvName }),
  z.strictObject({ type: z.literal("header"), name: z.string().min(1), value: inlineSecret, value_env: secretEnvName }),
]);

const seconds = z.number().int().min(0);
const hostnames = z.array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a lowercase host name")).default([]);

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };

/** A size in bytes: a number, or text with a unit (`500 MiB`, `20GB`). */
const byteSize = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)\s*$/i, "must be a number of bytes or a size like '500 MiB' or '20 GB'")
    .transform((text) => {
      const [, number, unit] = /^\s*([\d.]+)\s*([a-z]+)\s*$/i.exec(text)!;
      return Math.round(Number(number) * SIZE_UNITS[unit!.toLowerCase()]!);
    }),
]);

/** Keys that only mean something for one package type: set on another, they are a mistake. */
const PACKAGE_SPECIFIC_KEYS: Record<string, string> = {
  ban_tags_enabled: "docker",
  ban_tags: "docker",
  vcs: "circleci",
  branch: "circleci",
  api: "circleci",
  token: "circleci",
  token_env: "circleci",
};

export const remoteSchema = z
  .strictObject({
    /** The earlier version's `type: remote`; the default, so it is never stored. */
    type: z.literal("remote").optional(),
    base_url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
    package: z.string().default("generic"),
    description: z.string().default(""),
    patterns: z.array(regex).default([]),
    blocklist: z.array(regex).default([]),
    mutable_patterns: z.array(regex).default([]),
    immutable_patterns: z.array(regex).default([]),
    /** Seconds an immutable file stays fresh; 0 = forever. */
    immutable_ttl: seconds.default(0),
    /** Seconds a mutable file (an index) stays fresh before the upstream is asked again. */
    mutable_ttl: seconds.default(300),
    /** Retention: the most this remote may keep (least recently used evicted first); 0 = no limit. */
    max_size: byteSize.default(0),
    /** Retention: seconds a cached file may go unrequested before it is evicted; 0 = kept while used or not. */
    unused_ttl: seconds.default(0),
    /** Seconds an upstream 404/410 is remembered (never longer than mutable_ttl for indexes); 0 = ask every time. */
    negative_ttl: seconds.default(60),
    /** Seconds to wait for the upstream's response headers, and the longest silence mid-body before a download counts as cut. */
    upstream_timeout: z.number().positive().default(30),
    /** Seconds a request that has a stale copy waits for another request's refresh before it is served the stale copy. */
    stale_wait: z.number().min(0).default(2),
    /** Seconds a download may take in all (it goes on after its client left, up to this); waiters give up after it too. */
    fill_timeout: z.number().positive().default(1800),
    allow_private_network: z.boolean().default(false),
    /** After `failures` upstream failures within `window` seconds, answer from cache (or 503) for `open` seconds. */
    circuit_breaker: z
      .strictObject({ failures: z.number().int().min(1).default(5), window: seconds.min(1).default(30), open: seconds.min(1).default(30) })
      .default({ failures: 5, window: 30, open: 30 }),
    /** Serve artifacts only to clients presenting one of read_tokens (or of read_tokens_env's comma list), or a management token. */
    private: z.boolean().default(false),
    read_tokens: z.array(z.string().min(1)).default([]),
    read_tokens_env: secretEnvName,
    auth: authSchema.optional(),
    /** Hostnames that serve this remote at their root (`registry.example.com/v2/…`, `dl.example.com/org/repo/…`). */
    hostnames,
    /**
     * Deprecated, accepted and ignored: files an index links on any host are now proxied (and
     * fetched only from the URLs it linked), and no credentials are sent outside base_url.
     */
    file_hosts: z.array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a lowercase host name")).default([]),
    /** Bytes an index document rewritten whole (Terraform, Forge JSON) may have; larger ones are refused with 502. */
    max_document_size: z.number().int().min(1).default(32 * 1024 * 1024),
    // docker
    ban_tags_enabled: z.boolean().default(false),
    ban_tags: z.array(z.string()).default([]),
    // circleci
    vcs: z.enum(["gh", "bb", "circleci", "github", "bitbucket"]).optional(),
    branch: z.string().optional(),
    api: z.enum(["v1.1", "v2"]).optional(),
    token: z.string().min(1).optional(),
    token_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name").optional(),
  })
  .superRefine((remote, ctx) => {
    if (!(remote.package in providers)) {
      ctx.addIssue({
        code: "custom",
        path: ["package"],
        message: `unknown package type '${remote.package}' (one of: ${Object.keys(providers).join(", ")})`,
      });
    }
    for (const [key, packageType] of Object.entries(PACKAGE_SPECIFIC_KEYS)) {
      const value = (remote as Record<string, unknown>)[key];
      const set = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== false;
      if (set && remote.package !== packageType) {
        ctx.addIssue({ code: "custom", path: [key], message: `only applies to package: ${packageType}` });
      }
    }
    // Refinements run even when base_url itself failed its check: only look inside a real URL.
    if (URL.canParse(remote.base_url)) checkBaseUrl(remote, ctx);
    remote.file_hosts.forEach((host, index) => {
      if (!remote.allow_private_network && isPrivateHost(host.replace(/:\d+$/, ""))) {
        ctx.addIssue({ code: "custom", path: ["file_hosts", index], message: `'${host}' is a private, loopback or single-label host; set allow_private_network: true to allow it` });
      }
    });
    const auth = remote.auth as Record<string, unknown> | undefined;
    if (auth) {
      const field = { bearer: "token", basic: "password", header: "value" }[auth.type as string]!;
      if ((auth[field] === undefined) === (auth[`${field}_env`] === undefined)) {
        ctx.addIssue({ code: "custom", path: ["auth"], message: `needs exactly one of ${field} or ${field}_env` });
      }
    }
  });

/** base_url must not carry credentials, nor point at a private network unless the remote allows it. */
function checkBaseUrl(remote: { base_url: string; allow_private_network: boolean }, ctx: z.core.$RefinementCtx): void {
  const url = new URL(remote.base_url);
  if (url.username || url.password) {
    ctx.addIssue({ code: "custom", path: ["base_url"], message: "must not contain credentials; use auth" });
  }
  if (!remote.allow_private_network && isPrivateHost(url.hostname)) {
    ctx.addIssue({
      code: "custom",
      path: ["base_url"],
      message: `points at a private or loopback address (${url.hostname}); set allow_private_network: true to allow it`,
    });
  }
}

/** Package types a local repository can be published to, each with its ecosystem's own client. */
export const LOCAL_PACKAGES = ["generic", "npm", "pypi", "helm", "docker"] as const;
export type LocalPackageType = (typeof LOCAL_PACKAGES)[number];

/** The largest upload a local accepts unless it says otherwise. */
export const DEFAULT_MAX_UPLOAD_SIZE = 1024 ** 3;

/**
 * A local (hosted) repository: what a team publishes, kept in Postgres (rows) and the blob store
 * (bytes). Written with a write token (or the admin token); read like a remote (`private`).
 */
export const localSchema = z
  .strictObject({
    type: z.literal("local"),
    package: z
      .enum(LOCAL_PACKAGES, { error: (issue) => `a local repository cannot be package '${String(issue.input)}': locals can be ${LOCAL_PACKAGES.join(", ")}` })
      .default("generic"),
    /** Refused with a message that says why, rather than as an unknown key. */
    base_url: z.undefined({ error: "a local repository has no base_url: its files are uploaded to it" }).optional(),
    description: z.string().default(""),
    /** Which paths may be read and written (the same rules as a remote's). */
    patterns: z.array(regex).default([]),
    blocklist: z.array(regex).default([]),
    /** Reads need one of read_tokens (or of read_tokens_env's comma list), a write token or a management token. */
    private: z.boolean().default(false),
    read_tokens: z.array(z.string().min(1)).default([]),
    read_tokens_env: secretEnvName,
    /** Tokens that may publish, inline or (`_env`) a comma list; `name:token` names one for `uploaded_by`. ADMIN_TOKEN can always write. */
    write_tokens: z.array(z.string().min(1)).default([]),
    write_tokens_env: secretEnvName,
    /** Bytes (or `500 MiB`); a larger body is refused with 413 before anything is kept. */
    max_upload_size: byteSize.refine((bytes) => bytes > 0, "must be more than 0 bytes").default(DEFAULT_MAX_UPLOAD_SIZE),
    /** generic only: a PUT may replace an existing file (package versions are immutable). */
    allow_overwrite: z.boolean().default(false),
    hostnames,
    /**
     * The earlier version's `cache: {file_ttl, index_ttl}`, accepted so its files load as written. A
     * local's files are kept until deleted and its indexes rebuilt on every write: nothing expires.
     */
    cache: z.strictObject({ file_ttl: seconds.optional(), index_ttl: seconds.optional() }).optional(),
  })
  .superRefine((local, ctx) => {
    if (local.allow_overwrite && local.package !== "generic") {
      ctx.addIssue({ code: "custom", path: ["allow_overwrite"], message: `only applies to package: generic (${local.package} versions are immutable)` });
    }
  });

/** One entry of the remotes file: a remote (the default) or, with `type: local`, a local repository. */
export const repositorySchema = z.discriminatedUnion("type", [remoteSchema, localSchema], {
  error: (issue) => (issue.code === "invalid_union" ? `type must be "remote" (the default) or "local"` : undefined),
});

export type RemoteConfig = z.output<typeof remoteSchema> & { name: string };
export type RemoteAuth = NonNullable<RemoteConfig["auth"]>;
export type LocalConfig = z.output<typeof localSchema> & { name: string };
export type RepositoryConfig = RemoteConfig | LocalConfig;

export function isLocal(repository: RepositoryConfig): repository is LocalConfig {
  return repository.type === "local";
}

export const remoteName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be lowercase letters, digits, '.', '_' or '-'");

/**
 * Accepts the earlier Python version's keys by translating them to today's:
 * `include_patterns` → `patterns`, and for remotes `cache.file_ttl` → `immutable_ttl`,
 * `cache.index_ttl` → `mutable_ttl`, and `type: remote` (the default). A local keeps its
 * `cache:` block as written (localSchema accepts it).
 */
function fromLegacyKeys(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return raw;
  const { include_patterns, cache, type, ...rest } = raw as Record<string, unknown>;
  const out: Record<string, unknown> = { ...rest };
  if (include_patterns !== undefined) out.patterns ??= include_patterns;
  if (type === "local") return { ...out, type, ...(cache !== undefined ? { cache } : {}) };
  if (typeof cache === "object" && cache !== null) {
    const { file_ttl, index_ttl, ...unknownCacheKeys } = cache as Record<string, unknown>;
    if (file_ttl !== undefined) out.immutable_ttl ??= file_ttl;
    if (index_ttl !== undefined) out.mutable_ttl ??= index_ttl;
    for (const key of Object.keys(unknownCacheKeys)) out[`cache.${key}`] = unknownCacheKeys[key];
  } else if (cache !== undefined) {
    out.cache = cache;
  }
  if (type !== undefined && type !== "remote") out.type = type;
  return out;
}

export const remotesFileSchema = z.strictObject({
  remotes: z.record(remoteName, z.preprocess(fromLegacyKeys, repositorySchema)).default({}),
  /** Virtual repositories over the remotes and locals above (functions/virtuals/). */
  virtuals: z.record(remoteName, virtualSchema).default({}),
});

/** A whole remotes file: its remotes and locals, and its virtuals, each member checked against the entries above. */
export function parseConfigFile(document: unknown): { repositories: RepositoryConfig[]; virtuals: VirtualConfig[] } {
  const parsed = remotesFileSchema.safeParse(document);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(describeIssue), parsed.error.issues.flatMap(fieldProblem));
  const repositories = Object.entries(parsed.data.remotes).map(([name, repository]) => ({ name, ...repository }));
  const virtuals = Object.entries(parsed.data.virtuals).map(([name, virtual]) => ({ name, ...virtual }));
  const byName = new Map<string, RepositoryConfig>(repositories.map((repository) => [repository.name, repository]));
  const virtualNames = new Set(virtuals.map((virtual) => virtual.name));
  const problems: string[] = [];
  for (const virtual of virtuals) {
    if (byName.has(virtual.name)) problems.push(`virtual '${virtual.name}': the name is taken by a remote or local in this file`);
    for (const member of virtual.members) {
      const problem = memberProblem(virtual, member, byName.get(member), virtualNames.has(member));
      if (problem) problems.push(`virtual '${virtual.name}': key 'members': ${problem}`);
    }
    const writesTo = virtual.default_local ? byName.get(virtual.default_local) : undefined;
    if (writesTo && !isLocal(writesTo)) problems.push(`virtual '${virtual.name}': key 'default_local': '${writesTo.name}' is a remote; writes can only go to a local`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { repositories, virtuals };
}

/** One problem tied to the remote's top-level key it concerns (what a form shows next to that field). */
export interface FieldProblem {
  key: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: string[];
  readonly fields: FieldProblem[];
  constructor(problems: string[], fields: FieldProblem[] = []) {
    super(`invalid remotes config:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
    this.fields = fields;
  }
}

/** Validates a whole remotes document (remotes and locals); throws ConfigError naming each entry, key and problem. */
export function parseRepositories(document: unknown): RepositoryConfig[] {
  const parsed = remotesFileSchema.safeParse(document);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(describeIssue), parsed.error.issues.flatMap(fieldProblem));
  return Object.entries(parsed.data.remotes).map(([name, repository]) => ({ name, ...repository }));
}

function fieldProblem(issue: z.core.$ZodIssue): FieldProblem[] {
  const [top, , ...keyPath] = issue.path.map(String);
  if (top !== "remotes" || keyPath.length === 0) return [];
  return [{ key: keyPath[0]!, message: keyPath.length > 1 ? `${formatKey(keyPath)}: ${issue.message}` : issue.message }];
}

/** The remotes of a remotes document, validated as a whole (its locals too). */
export function parseRemotes(document: unknown): RemoteConfig[] {
  return parseRepositories(document).filter((repository): repository is RemoteConfig => !isLocal(repository));
}

/** Validates one stored entry (from the metadata store). */
export function parseRepository(name: string, config: unknown): RepositoryConfig {
  return parseRepositories({ remotes: { [name]: config } })[0]!;
}

/** Validates one stored remote; a local under that name is refused. */
export function parseRemote(name: string, config: unknown): RemoteConfig {
  const repository = parseRepository(name, config);
  if (isLocal(repository)) throw new ConfigError([`'${name}' is a local repository, not a remote`]);
  return repository;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const [top, name, ...keyPath] = issue.path.map(String);
  if ((top !== "remotes" && top !== "virtuals") || name === undefined) return `${issue.path.join(".") || "document"}: ${issue.message}`;
  const entry = `${top === "virtuals" ? "virtual" : "remote"} '${name}'`;
  if (issue.code === "unrecognized_keys") {
    return `${entry}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")}`;
  }
  if (keyPath.length === 0) return `${entry}: ${issue.message}`;
  return `${entry}: key '${formatKey(keyPath)}': ${issue.message}`;
}

function formatKey(path: string[]): string {
  return path.reduce((key, part) => (/^\d+$/.test(part) ? `${key}[${part}]` : key ? `${key}.${part}` : part), "");
}
