import type { Provider } from "./types.ts";

/** Generic HTTP file servers (GitHub releases, HashiCorp releases…): every file is immutable. */
export const generic: Provider = {
  type: "generic",
  classify: () => ({ kind: "immutable", reason: "generic remotes treat every file as immutable" }),
  cacheKey: (path) => path,
  // A plain file server may answer a different file per query (S3 `versionId`): all of it is kept.
  queryParams: () => "all",
};
