import { parseRegistryPath } from "../docker.ts";
import { MemberReader, MergeError, parseMemberJson, Routes, type FoundDocument, type Member, type Merged, type MergeContext, type MemberDocument } from "./members.ts";

/**
 * Docker `tags/list` merged for a virtual: the members' tags unioned and sorted, under the
 * virtual's repository name; a repository that a local member has comes from the locals only.
 * Manifests and blobs are not merged: they come from the first member that has the repository
 * and reference (`memberOrder` with the locals that have the repository as `owners`), and a
 * manifest by tag goes to the member whose list named the tag first (the routes here).
 */

export interface DockerTagsContext extends MergeContext {
  /** The repository as the client named it (`<virtual>/<image>` under `/v2/`, or `<image>` on a mapped host): the answer's `name`. */
  name: string;
  /** The client's `n` (page size), if it asked for a page. */
  n?: number;
  /** The client's `last`: the page starts after this tag. */
  last?: string;
}

export interface MergedTags extends Merged {
  /** The last tag of this page when more follow (for the `Link: <…?n=&last=…>; rel="next"` header), else null. */
  next: string | null;
}

function readTags(found: FoundDocument): string[] {
  const list = parseMemberJson(found, "tags/list");
  const tags = typeof list === "object" && list !== null ? (list as { tags?: unknown }).tags : undefined;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string")) throw new MergeError(found.member.name, "tags/list's tags is not a list of strings");
  return tags;
}

/** `tags/list` of every member (each asked for its whole list, without `n`/`last`), in the virtual's member order. */
export function mergeDockerTags(documents: readonly MemberDocument[], ctx: DockerTagsContext): MergedTags {
  const parsed = parseRegistryPath(ctx.path);
  if (parsed?.kind !== "tags") throw new Error(`${ctx.path} is not a repository's tags/list`);
  const reader = new MemberReader<FoundDocument>(documents, "document", ctx.mergeLocalsWithRemotes);
  const listedBy = new Map<string, Member>();
  for (let found = reader.next(); found; found = reader.next()) {
    const tags = readTags(found);
    for (const tag of tags) if (!listedBy.has(tag)) listedBy.set(tag, found.member);
    reader.done(tags.length > 0);
  }
  const all = [...listedBy.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const after = ctx.last === undefined ? all : all.filter((tag) => tag > ctx.last!);
  const page = ctx.n === undefined ? after : after.slice(0, ctx.n);
  const routes = new Routes();
  for (const tag of all) routes.add([`${parsed.repository}/manifests/${tag}`], listedBy.get(tag)!);
  return {
    body: JSON.stringify({ name: ctx.name, tags: page }),
    routes: routes.map,
    outcome: reader.outcome(),
    next: page.length < after.length && page.length > 0 ? page.at(-1)! : null,
  };
}
