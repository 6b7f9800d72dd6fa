import { decide, type AccessRules } from "../access.ts";
import type { Provider } from "../types.ts";
import type { Member } from "./members.ts";

/**
 * "The first member that has it": for files and for documents that are not merged (generic,
 * rpm `repomd.xml`, alpine `APKINDEX`, puppet, terraform; docker manifests and blobs; goproxy
 * `.info`/`.mod`/`.zip`; a tarball or distribution file the merged index did not route). The
 * caller asks the members in this order and serves the first answer that is not a 404/410.
 */

export interface MemberRules {
  member: Member;
  /** The member's patterns and blocklist (a member with none allows every path its type serves). */
  access?: AccessRules;
}

export interface MemberOrderOptions {
  /**
   * Local members that have the name the path belongs to (npm package, PyPI project, Go module,
   * Helm chart, docker repository). When any does, the path is asked of them only: remote members
   * never answer for a private name. Empty or absent for types without names (generic, rpm, …).
   */
  owners?: readonly string[];
  mergeLocalsWithRemotes?: boolean;
}

export interface MemberOrder {
  /** The members to ask, in order. */
  order: Member[];
  /** Members whose rules deny the path (skipped for it): when every member denies, the answer is 403. */
  denied: { member: string; reason: string }[];
  /** Remote members left out because a local member owns the name. */
  shadowed: string[];
}

const NO_RULES: AccessRules = { patterns: [], blocklist: [], mutable_patterns: [], immutable_patterns: [] };

/** Which members to ask for a path, in which order (`members` in the virtual's member order). */
export function memberOrder(provider: Provider, members: readonly MemberRules[], path: string, options: MemberOrderOptions = {}): MemberOrder {
  const owners = options.mergeLocalsWithRemotes ? [] : (options.owners ?? []);
  const result: MemberOrder = { order: [], denied: [], shadowed: [] };
  for (const { member, access } of members) {
    if (owners.length > 0 && !(member.kind === "local" && owners.includes(member.name))) {
      if (member.kind === "remote") result.shadowed.push(member.name);
      continue;
    }
    const decision = decide(access ?? NO_RULES, provider, path);
    if (decision.kind === "denied") result.denied.push({ member: member.name, reason: decision.reason });
    else result.order.push(member);
  }
  return result;
}
