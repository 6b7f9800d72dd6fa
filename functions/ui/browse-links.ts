/** A repository's Browse page, with its query (empty values left out). */
export function browseHref(repository: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ""));
  const search = params.toString();
  return `/ui/browse/${encodeURIComponent(repository)}${search ? `?${search}` : ""}`;
}
