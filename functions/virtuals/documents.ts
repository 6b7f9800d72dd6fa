import { mergeGoLatest, mergeGoVersionList, mergeHelmIndex, npmMergeStream, pypiMergeStream, type Answers, type FoundAnswer, type MemberDocument, type Merged, type MergeContext, type MergeStream } from "../../providers/merge/index.ts";
import { npm, parsePackagePath } from "../../providers/npm.ts";
import { parseIndexPage, pypiCacheKey } from "../../providers/pypi.ts";

/**
 * Which paths of a virtual are merged documents, and how each is merged (providers/merge/):
 * npm packuments and PyPI simple pages stream, the rest are read whole. Every other path is
 * served by the first member that has it (first-match).
 */
export type DocumentMerge = {
  contentType: string;
  /** Added to the answer (docker's API version header). */
  responseHeaders?: Record<string, string>;
  /**
   * Whether the document is one name a local member can own (dependency confusion): then, while
   * a local member is failing, remote members cannot complete the answer.
   */
  owned: boolean;
} & (
  | { kind: "stream"; start<A extends FoundAnswer>(answers: Answers<A>, ctx: MergeContext): MergeStream<A> }
  | { kind: "whole"; merge(documents: readonly MemberDocument[], ctx: MergeContext): Merged }
);

/** The merge for a path (decoded) of a virtual of this package type, or null when the path is served first-match. */
export function documentMerge(packageType: string, path: string, accept: string | null): DocumentMerge | null {
  switch (packageType) {
    case "npm": {
      const pkg = parsePackagePath(path);
      if (!pkg || pkg.rest.length > 0) return null;
      const abbreviated = npm.cacheKey(path, { accept }).endsWith("#install-v1");
      return { kind: "stream", owned: true, contentType: abbreviated ? "application/vnd.npm.install-v1+json" : "application/json", start: npmMergeStream };
    }
    case "pypi": {
      const page = parseIndexPage(path);
      if (!page) return null;
      const format = pypiCacheKey(path, accept).endsWith("#json") ? "json" : "html";
      return {
        kind: "stream",
        owned: page.project !== null,
        contentType: format === "json" ? "application/vnd.pypi.simple.v1+json" : "text/html; charset=utf-8",
        start: (answers, ctx) => pypiMergeStream(answers, { ...ctx, format }),
      };
    }
    case "goproxy":
      if (path.endsWith("/@v/list")) return { kind: "whole", owned: true, contentType: "text/plain; charset=utf-8", merge: mergeGoVersionList };
      if (path.endsWith("/@latest")) return { kind: "whole", owned: true, contentType: "application/json", merge: mergeGoLatest };
      return null;
    case "helm":
      if (path !== "index.yaml" && !path.endsWith("/index.yaml")) return null;
      // A chart a local has hides only the remotes' entries for it: a failing local still hides every remote (merge layer).
      return { kind: "whole", owned: true, contentType: "application/x-yaml", merge: (documents, ctx) => mergeHelmIndex(documents, { ...ctx, now: new Date() }) };
    default:
      return null;
  }
}
