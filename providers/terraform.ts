import { hexDigest } from "./digests.ts";
import { emptyFindings, FOREIGN_PREFIX, isForeignFilePath, proxyHref, recordLink } from "./links.ts";
import type { Classification, Digest, Findings, Provider, RewriteContext, Rewritten } from "./types.ts";

/**
 * Terraform registry protocols (providers.v1, modules.v1) and the provider network mirror
 * protocol. Terraform finds the registry at `https://<host>/.well-known/terraform.json`, so a
 * terraform remote needs a hostname mapped to it (or that one path routed to it).
 */

const DISCOVERY = ".well-known/terraform.json";
const SEGMENT = "[^/]+";
const PROVIDER_VERSIONS = new RegExp(`^v1/providers/${SEGMENT}/${SEGMENT}/versions$`);
const PROVIDER_DOWNLOAD = new RegExp(`^v1/providers/${SEGMENT}/${SEGMENT}/${SEGMENT}/download/${SEGMENT}/${SEGMENT}$`);
const MODULE = `v1/modules/${SEGMENT}/${SEGMENT}/${SEGMENT}`;
const MODULE_VERSION_DOWNLOAD = new RegExp(`^${MODULE}/${SEGMENT}/download$`);
const MODULE_MUTABLE = new RegExp(`^${MODULE}(/versions|/download)?$`);
const MODULE_VERSION = new RegExp(`^${MODULE}/${SEGMENT}$`);
/** Network mirror: `<hostname>/<namespace>/<type>/index.json` and `…/<version>.json`. */
const MIRROR_INDEX = /^[a-z0-9.-]+\.[a-z0-9-]+(:\d+)?\/[^/]+\/[^/]+\/index\.json$/i;
const MIRROR_VERSION = /^[a-z0-9.-]+\.[a-z0-9-]+(:\d+)?\/[^/]+\/[^/]+\/[^/]+\.json$/i;

export function classifyTerraform(path: string): Classification {
  if (path.startsWith(FOREIGN_PREFIX)) {
    return isForeignFilePath(path)
      ? { kind: "immutable", reason: "provider or module archive on another host" }
      : { kind: "denied", reason: "malformed foreign file path" };
  }
  if (path === DISCOVERY) return { kind: "mutable", reason: "service discovery" };
  if (PROVIDER_VERSIONS.test(path)) return { kind: "mutable", reason: "provider versions" };
  if (PROVIDER_DOWNLOAD.test(path)) return { kind: "immutable", reason: "provider package metadata" };
  if (MODULE_VERSION_DOWNLOAD.test(path)) return { kind: "immutable", reason: "module version download" };
  if (MODULE_MUTABLE.test(path)) return { kind: "mutable", reason: "module versions or latest" };
  if (MODULE_VERSION.test(path)) return { kind: "immutable", reason: "module version" };
  if (MIRROR_INDEX.test(path)) return { kind: "mutable", reason: "network mirror version list" };
  if (MIRROR_VERSION.test(path)) return { kind: "immutable", reason: "network mirror package list" };
  // Provider packages and their checksums (registries may host them), module archives named by X-Terraform-Get.
  if (/\.zip$/.test(path)) return { kind: "immutable", reason: "provider package" };
  if (/_SHA256SUMS(\.[0-9a-f]+)?(\.sig)?$/i.test(path)) return { kind: "immutable", reason: "provider checksums or their signature" };
  if (/\.(tar\.gz|tgz|tar\.xz|tar\.bz2)$/.test(path)) return { kind: "immutable", reason: "module archive" };
  return { kind: "denied", reason: "not a Terraform registry or network mirror read path" };
}

/** The services this proxy serves; others (login.v1, tfe.v2…) are dropped from discovery. */
const SERVICES = ["providers.v1", "modules.v1"];

export function rewriteTerraformDocument(body: string, ctx: RewriteContext): Rewritten {
  const findings = emptyFindings();
  if (ctx.path === DISCOVERY) return rewriteDiscovery(body, ctx, findings);
  if (MODULE_VERSION_DOWNLOAD.test(ctx.path)) return rewriteModuleLocation(body, ctx, findings);
  const document = JSON.parse(body) as Record<string, unknown>;
  const rewrite = (record: Record<string, unknown>, field: string, digest: Digest | null = null) => {
    const value = record[field];
    if (typeof value !== "string") return;
    const { href, link } = proxyHref(value, ctx);
    record[field] = href;
    if (link) recordLink(findings, link, digest);
  };
  // providers.v1 download: the archive's `shasum` is its sha256.
  rewrite(document, "download_url", typeof document.shasum === "string" ? hexDigest("sha256", document.shasum) : null);
  rewrite(document, "shasums_url");
  rewrite(document, "shasums_signature_url");
  // Network mirror `<version>.json`: `zh:` hashes are sha256 of the archive (`h1:` hashes the contents).
  if (typeof document.archives === "object" && document.archives !== null) {
    for (const archive of Object.values(document.archives as Record<string, Record<string, unknown>>)) {
      const hashes = Array.isArray(archive?.hashes) ? (archive.hashes as unknown[]) : [];
      const zh = hashes.find((h): h is string => typeof h === "string" && h.startsWith("zh:"));
      rewrite(archive, "url", zh ? hexDigest("sha256", zh.slice(3)) : null);
    }
  }
  return { body: JSON.stringify(document), ...findings };
}

/** Points providers.v1 / modules.v1 at the proxy with absolute URLs (discovery sits at the host root). */
function rewriteDiscovery(body: string, ctx: RewriteContext, findings: Findings): Rewritten {
  const services = JSON.parse(body) as Record<string, unknown>;
  const kept: Record<string, string> = {};
  for (const name of SERVICES) {
    const value = services[name];
    if (typeof value !== "string") continue;
    const { href, link } = proxyHref(value, ctx, { absolute: true, keepQuery: true });
    kept[name] = href;
    if (link) recordLink(findings, link, null);
  }
  return { body: JSON.stringify(kept), ...findings };
}

/**
 * Newer registries answer a module download with 200 and `{"location": …}` instead of the header.
 * The proxy serves every document with 200, so the 204 form (empty body, location in
 * X-Terraform-Get) becomes `{}`: clients read JSON on 200 and fall back to the header when it
 * has no location; clients older than the JSON form read the header only.
 */
function rewriteModuleLocation(body: string, ctx: RewriteContext, findings: Findings): Rewritten {
  if (body.trim() === "") return { body: "{}", ...findings };
  const document = JSON.parse(body) as Record<string, unknown>;
  if (typeof document.location === "string") document.location = rewriteTerraformGet(document.location, ctx, findings);
  return { body: JSON.stringify(document), ...findings };
}

/**
 * Rewrites an `X-Terraform-Get` value. go-getter syntax: an optional forced getter (`git::…`,
 * left alone: only http(s) sources can come through the proxy), the source URL, an optional
 * `//subdir`, then a query (`?archive=tar.gz`, `?ref=…`) that stays as it was.
 */
export function rewriteTerraformGet(value: string, ctx: RewriteContext, findings: Findings): string {
  if (/^[a-z0-9]+::/i.test(value)) return value;
  const queryAt = value.indexOf("?");
  const withoutQuery = queryAt === -1 ? value : value.slice(0, queryAt);
  const query = queryAt === -1 ? "" : value.slice(queryAt);
  const schemeEnd = withoutQuery.indexOf("://");
  const subdirAt = withoutQuery.indexOf("//", schemeEnd === -1 ? 0 : schemeEnd + 3);
  const source = subdirAt === -1 ? withoutQuery : withoutQuery.slice(0, subdirAt);
  const subdir = subdirAt === -1 ? "" : withoutQuery.slice(subdirAt);
  const { href, link } = proxyHref(source, ctx);
  if (link) recordLink(findings, link, null);
  return `${href}${subdir}${query}`;
}

export const terraform: Provider = {
  type: "terraform",
  classify: classifyTerraform,
  cacheKey: (path) => path,
  rewriter: {
    rewrites: (path) =>
      path === DISCOVERY || PROVIDER_DOWNLOAD.test(path) || MODULE_VERSION_DOWNLOAD.test(path) || MIRROR_VERSION.test(path),
    whole: rewriteTerraformDocument,
    linkHeaders: { "x-terraform-get": rewriteTerraformGet },
  },
};
