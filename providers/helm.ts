import { isMap, isScalar, isSeq, parseDocument } from "yaml";
import { hexDigest } from "./digests.ts";
import { FOREIGN_PREFIX, isForeignFilePath, proxyHref } from "./links.ts";
import type { Classification, Digest, Provider, RewriteContext, Rewritten } from "./types.ts";

/** Helm chart repositories: `index.yaml` plus chart archives. */

export function classifyHelm(path: string): Classification {
  if (path.startsWith(FOREIGN_PREFIX)) {
    return isForeignFilePath(path)
      ? { kind: "immutable", reason: "chart on another host" }
      : { kind: "denied", reason: "malformed foreign file path" };
  }
  if (/(^|\/)index\.yaml$/.test(path)) return { kind: "mutable", reason: "repository index" };
  if (/\.(tgz|tar\.gz|prov)$/.test(path)) return { kind: "immutable", reason: "chart archive or provenance file" };
  return { kind: "mutable", reason: "other repository file" };
}

/**
 * Rewrites absolute chart `urls` to proxy URLs (relative ones already resolve through the proxy)
 * and collects each chart's `digest` (sha256 of the archive). The YAML document model keeps the
 * rest of the file (comments, key order, quoting) as it was.
 */
export function rewriteHelmIndex(body: string, ctx: RewriteContext): Rewritten {
  const digests = new Map<string, Digest>();
  // Failsafe schema: every scalar stays the string it was, so a digest such as `1234e5…` is not
  // read as a number and every untouched value is written back exactly.
  const document = parseDocument(body, { schema: "failsafe", uniqueKeys: false });
  const entries = document.get("entries");
  if (!isMap(entries)) return { body, digests };
  for (const chart of entries.items) {
    if (!isSeq(chart.value)) continue;
    for (const version of chart.value.items) {
      if (!isMap(version)) continue;
      const urls = version.get("urls");
      if (!isSeq(urls)) continue;
      const declared = version.get("digest");
      const digest = typeof declared === "string" ? hexDigest("sha256", declared.replace(/^sha256:/, "")) : null;
      for (const url of urls.items) {
        if (!isScalar(url) || typeof url.value !== "string") continue;
        const link = proxyHref(url.value, ctx);
        if (link.path === null) continue;
        url.value = link.href;
        if (digest) digests.set(link.path, digest);
      }
    }
  }
  return { body: document.toString({ lineWidth: 0 }), digests };
}

export const helm: Provider = {
  type: "helm",
  classify: classifyHelm,
  cacheKey: (path) => path,
  rewriter: {
    defaultFileHosts: [],
    rewrites: (path) => /(^|\/)index\.yaml$/.test(path) && !path.startsWith(FOREIGN_PREFIX),
    rewrite: rewriteHelmIndex,
  },
};
