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
}

function readTags(found: FoundDocument): string[] {
  const list = parseMemberJson(found, "tags/list");
  const tags = typeof list === "object" && list !== null ? (list as { tags?: unknown }).tags : undefined;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string")) throw new MergeError(found.member.name, "tags/list's tags is not a list of strings");
  return tags;
}

/**
 * `tags/list` of every member (each asked for its whole list, without `n`/`last`), in the virtual's
 * member order: the whole union, which is what is cached; a client's page is cut from it (tagsPage).
 */
export function mergeDockerTags(documents: readonly MemberDocument[], ctx: DockerTagsContext): Merged {
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
  const routes = new Routes();
  for (const tag of all) routes.add([`${parsed.repository}/manifests/${tag}`], listedBy.get(tag)!);
  return { body: JSON.stringify({ name: ctx.name, tags: all }), routes: routes.map, outcome: reader.outcome() };
}

/**
 * One page of a sorted tag list as the distribution spec pages `tags/list`: the tags after `last`,
 * at most `n` of them; `next` is the last tag of the page when more follow (the `Link` header's `last`).
 */
export function tagsPage(sorted: readonly string[], page: { n?: number; last?: string }): { tags: string[]; next: string | null } {
  const after = page.last === undefined ? [...sorted] : sorted.filter((tag) => tag > page.last!);
  const tags = page.n === undefined ? after : after.slice(0, page.n);
  return { tags, next: tags.length < after.length && tags.length > 0 ? tags.at(-1)! : null };
}
