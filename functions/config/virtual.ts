import { z } from "zod";

const names = z.array(z.string().min(1));
const secretEnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name").optional();

/**
 * A virtual repository: one URL in front of several remotes and locals of one package type,
 * asked in order (functions/virtuals/). `remotes:` (the earlier key) is accepted for `members:`.
 */
export const virtualSchema = z
  .strictObject({
    package: z.string().default("generic"),
    description: z.string().default(""),
    /** Remotes and locals, in the order they are asked. */
    members: names.optional(),
    /** The earlier name of `members`. */
    remotes: names.optional(),
    /** The local that writes to the virtual (npm publish, twine upload, docker push, PUT) go to. */
    default_local: z.string().min(1).optional(),
    /** Seconds a merged index stays fresh; default: the smallest of the members' `mutable_ttl`. */
    mutable_ttl: z.number().int().min(0).optional(),
    /** Off by default: a name a local member has is served from the locals only. True merges every member's versions. */
    merge_locals_with_remotes: z.boolean().default(false),
    private: z.boolean().default(false),
    read_tokens: z.array(z.string().min(1)).default([]),
    read_tokens_env: secretEnvName,
    hostnames: z.array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a lowercase host name")).default([]),
  })
  .superRefine((virtual, ctx) => {
    if (virtual.members && virtual.remotes) ctx.addIssue({ code: "custom", path: ["remotes"], message: "give the members once: `members` (or the earlier `remotes`), not both" });
    else if ((virtual.members ?? virtual.remotes ?? []).length === 0) ctx.addIssue({ code: "custom", path: ["members"], message: "needs at least one member (remotes and locals, in order)" });
    if (virtual.default_local && !(virtual.members ?? virtual.remotes ?? []).includes(virtual.default_local)) {
      ctx.addIssue({ code: "custom", path: ["default_local"], message: `'${virtual.default_local}' is not one of the members` });
    }
  })
  .transform(({ remotes, members, ...virtual }) => ({ ...virtual, members: members ?? remotes ?? [] }));

export type VirtualConfig = z.output<typeof virtualSchema> & { name: string };

/** What a stored virtual names as members (rows written before `members` say `remotes`). */
export function virtualMembers(stored: Record<string, unknown>): string[] {
  const members = stored.members ?? stored.remotes;
  return Array.isArray(members) ? members.filter((member): member is string => typeof member === "string") : [];
}

/** A member that cannot serve the virtual, or null. `member`: the stored entry under that name (a remote or a local), if any. */
export function memberProblem(virtual: { package: string }, name: string, member: { package?: unknown } | undefined, isVirtual: boolean): string | null {
  if (isVirtual) return `'${name}' is a virtual; a virtual's members are remotes and locals, not other virtuals`;
  if (!member) return `no remote or local named '${name}'`;
  const memberPackage = member.package ?? "generic";
  return memberPackage === virtual.package ? null : `member '${name}' is package '${String(memberPackage)}', not '${virtual.package}'`;
}
