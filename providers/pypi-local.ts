import type { PackageRecord, PackageState } from "../infra/meta/local-store.ts";
import { escapeHtml } from "./merge/pypi.ts";
import { normalizeProjectName } from "./pypi.ts";

/**
 * A PyPI local's documents, generated from its rows (pure): the simple repository API as PEP 503
 * HTML and PEP 691 JSON (api-version 1.1: versions, size and upload-time too), and what an
 * upload says about itself: its file name (wheel or sdist) and its core metadata.
 */

export const SIMPLE_JSON = "application/vnd.pypi.simple.v1+json";
export const SIMPLE_HTML = "application/vnd.pypi.simple.v1+html";
const API_VERSION = "1.1";

/** A distribution's file name, read as the packaging specs write it. */
export interface DistributionName {
  filetype: "bdist_wheel" | "sdist";
  /** The project as the file name spells it (normalise before comparing). */
  project: string;
  version: string;
}

const WHEEL = /^([^-]+)-([^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$/;
const SDIST = /^(.+)-([^-]+)\.tar\.gz$/;

/** A wheel (`name-1.0-py3-none-any.whl`) or an sdist (`name-1.0.tar.gz`); null for anything else. */
export function parseDistributionName(filename: string): DistributionName | null {
  if (filename.includes("/") || filename.includes("\\")) return null;
  const wheel = WHEEL.exec(filename);
  if (wheel) return { filetype: "bdist_wheel", project: wheel[1]!, version: wheel[2]! };
  const sdist = SDIST.exec(filename);
  if (sdist) return { filetype: "sdist", project: sdist[1]!, version: sdist[2]! };
  return null;
}

/** Versions as file names write them (wheel names replace `-` by `_`), for comparing with the metadata's. */
export function sameVersion(a: string, b: string): boolean {
  const canonical = (version: string) => version.toLowerCase().replace(/[-_]/g, "-").replace(/^v/, "");
  return canonical(a) === canonical(b);
}

/** The fields of core metadata (METADATA, PKG-INFO) an index shows. */
export interface CoreMetadata {
  name: string;
  version: string;
  requiresPython: string | null;
  summary: string | null;
}

/**
 * Reads core metadata (RFC 822 style headers, as the packaging spec defines them) up to the
 * first blank line (the description body follows). Null when Name or Version is missing.
 */
export function parseCoreMetadata(text: string): CoreMetadata | null {
  const fields = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.replace(/\r\n/g, "\n").split("\n")) {
    if (line === "") break;
    if (/^[ \t]/.test(line) && last !== null) {
      fields.set(last, `${fields.get(last)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    // The first occurrence counts (Classifier and others repeat; the fields read here do not).
    if (!fields.has(last)) fields.set(last, line.slice(colon + 1).trim());
  }
  const name = fields.get("name");
  const version = fields.get("version");
  if (!name || !version) return null;
  return { name, version, requiresPython: fields.get("requires-python") || null, summary: fields.get("summary") || null };
}

/** The file path of a distribution below the local. */
export function distributionPath(project: string, filename: string): string {
  return `packages/${normalizeProjectName(project)}/${filename}`;
}

export type SimpleFormat = "json" | "html";

/** A project's page: every file of its live versions, with `#sha256=` and `data-requires-python`. Null when it has none. */
export function projectPage(state: PackageState, baseUrl: string, format: SimpleFormat): string | null {
  const live = state.versions.filter((version) => version.deletedAt === null).map((version) => version.version);
  const liveSet = new Set(live);
  const files = state.files.filter((file) => file.version !== null && liveSet.has(file.version)).sort((a, b) => (a.path < b.path ? -1 : 1));
  if (files.length === 0) return null;
  const name = state.package.name;
  const described = files.map((file) => {
    const filename = file.path.slice(file.path.lastIndexOf("/") + 1);
    const requiresPython = typeof file.metadata.requires_python === "string" ? file.metadata.requires_python : null;
    return { filename, url: `${baseUrl}/${file.path.split("/").map(encodeURIComponent).join("/")}`, sha256: file.sha256, size: file.size, uploadedAt: file.uploadedAt, requiresPython };
  });
  if (format === "json") {
    return JSON.stringify({
      meta: { "api-version": API_VERSION },
      name,
      versions: live,
      files: described.map((file) => ({
        filename: file.filename,
        url: file.url,
        hashes: { sha256: file.sha256 },
        ...(file.requiresPython === null ? {} : { "requires-python": file.requiresPython }),
        size: file.size,
        "upload-time": file.uploadedAt.toISOString(),
      })),
    });
  }
  const anchors = described.map((file) => {
    const requires = file.requiresPython === null ? "" : ` data-requires-python="${escapeHtml(file.requiresPython)}"`;
    return `<a href="${escapeHtml(`${file.url}#sha256=${file.sha256}`)}"${requires}>${escapeHtml(file.filename)}</a><br/>`;
  });
  return htmlDocument(`Links for ${name}`, anchors);
}

/** The root page: every project with a live version. */
export function rootPage(packages: PackageRecord[], baseUrl: string, format: SimpleFormat): string {
  if (format === "json") return JSON.stringify({ meta: { "api-version": API_VERSION }, projects: packages.map((pkg) => ({ name: pkg.displayName })) });
  return htmlDocument("Simple index", packages.map((pkg) => `<a href="${escapeHtml(`${baseUrl}/simple/${pkg.name}/`)}">${escapeHtml(pkg.displayName)}</a><br/>`));
}

function htmlDocument(title: string, lines: string[]): string {
  return `<!DOCTYPE html>
<html>
<head><meta name="pypi:repository-version" content="${API_VERSION}"><title>${escapeHtml(title)}</title></head>
<body>
<h1>${escapeHtml(title)}</h1>
${lines.join("\n")}
</body>
</html>
`;
}
