import type { Classification, Provider } from "./types.ts";

/** Alpine apk repositories: classification only; bytes are served unchanged (signed index). */

export function classifyAlpine(path: string): Classification {
  if (/(^|\/)APKINDEX\.tar\.gz$/.test(path)) return { kind: "mutable", reason: "repository index" };
  if (/\.apk$/.test(path)) return { kind: "immutable", reason: "package" };
  return { kind: "mutable", reason: "other repository file (last-updated, mirror lists)" };
}

export const alpine: Provider = {
  type: "alpine",
  classify: classifyAlpine,
  cacheKey: (path) => path,
};
