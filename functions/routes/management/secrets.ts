/**
 * Secrets in a stored config are write-only: reads show `{ "set": true }` in their place, and a
 * write that sends `{ "set": true }` back keeps the stored value (so GET → edit → PUT works).
 */
const SECRET_PATHS = [["auth", "token"], ["auth", "password"], ["auth", "value"], ["token"], ["read_tokens"], ["write_tokens"]];

export const SET_MARKER = { set: true } as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMarker(value: unknown): boolean {
  return isObject(value) && value.set === true && Object.keys(value).length === 1;
}

/** The parent object of a path and its last key, when the parent exists. */
function locate(config: Json, path: string[]): [Json, string] | null {
  let parent: unknown = config;
  for (const key of path.slice(0, -1)) parent = isObject(parent) ? parent[key] : undefined;
  return isObject(parent) ? [parent, path[path.length - 1]!] : null;
}

export function redactSecrets(config: Json): Json {
  const copy = structuredClone(config);
  for (const path of SECRET_PATHS) {
    const found = locate(copy, path);
    if (!found) continue;
    const [parent, key] = found;
    const value = parent[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    parent[key] = { ...SET_MARKER };
  }
  return copy;
}

/** Replaces `{ "set": true }` markers with the stored secrets; the paths whose secret is unknown are returned. */
export function restoreSecrets(incoming: Json, stored: Json | null): { config: Json; missing: string[] } {
  const config = structuredClone(incoming);
  const missing: string[] = [];
  for (const path of SECRET_PATHS) {
    const found = locate(config, path);
    if (!found || !isMarker(found[0][found[1]])) continue;
    const previous = stored ? locate(stored, path) : null;
    const value = previous ? previous[0][previous[1]] : undefined;
    if (value === undefined) missing.push(path.join("."));
    else found[0][found[1]] = value;
  }
  return { config, missing };
}
