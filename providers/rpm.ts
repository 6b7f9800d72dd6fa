import type { Classification, Provider } from "./types.ts";

/** RPM repositories (dnf/yum): classification only; bytes are served unchanged (signatures). */

export function classifyRpm(path: string): Classification {
  if (/(^|\/)repodata\/repomd\.xml(\.asc|\.key)?$/.test(path)) return { kind: "mutable", reason: "repository metadata" };
  // createrepo prefixes metadata files with their checksum, unless run with --simple-md-filenames.
  if (/(^|\/)repodata\/[0-9a-f]{32,128}-[^/]+$/.test(path)) {
    return { kind: "immutable", reason: "content-addressed repository metadata" };
  }
  if (/(^|\/)repodata\//.test(path)) return { kind: "mutable", reason: "repository metadata without a checksum name" };
  if (/\.d?rpm$/.test(path)) return { kind: "immutable", reason: "package" };
  return { kind: "mutable", reason: "other repository file (mirror list, keys, tree info)" };
}

export const rpm: Provider = {
  type: "rpm",
  classify: classifyRpm,
  cacheKey: (path) => path,
};
