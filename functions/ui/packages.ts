import { parse as parseYaml } from "yaml";
import { parsePackagePath } from "../../providers/npm.ts";
import { normalizeProjectName } from "../../providers/pypi.ts";

/**
 * Package views of cached paths (npm, PyPI, Helm, docker): which package and version a cached
 * object is, and which versions a cached index document lists. Pure: the pages bring the rows
 * and the documents.
 */
export const PACKAGE_VIEW_TYPES = new Set(["npm", "pypi", "helm", "docker"]);

export interface PackageObject {
  /** The package (npm package, PyPI project, Helm chart, docker repository); "*" for an index of every package (Helm's index.yaml). */
  name: string;
  /** The version (tag, for docker) this object holds; null for an index document. */
  version: string | null;
}

const WHEEL = /^([A-Za-z0-9_.]+?)-([^-]+)-.+\.whl$/;
const SDIST = /^(.+?)-(\d[^-]*?)\.(tar\.gz|tar\.bz2|zip)$/;
const CHART = /(?:^|\/)([^/]+?)-(v?\d[^/]*?)\.tgz$/;

export function packageObject(type: string, path: string): PackageObject | null {
  if (type === "npm") {
    const pkg = parsePackagePath(path);
    if (!pkg) return null;
    if (pkg.rest.length === 0) return { name: pkg.name, version: null };
    const file = pkg.rest.at(-1)!;
    const base = `${pkg.name.split("/").pop()}-`;
    return pkg.rest[0] === "-" && file.startsWith(base) && file.endsWith(".tgz") ? { name: pkg.name, version: file.slice(base.length, -".tgz".length) } : null;
  }
  if (type === "pypi") {
    const page = /^simple\/([^/]+)\/?$/.exec(path);
    if (page) return { name: normalizeProjectName(page[1]!), version: null };
    return pypiFile(path.split("/").pop() ?? "");
  }
  if (type === "helm") {
    if (/(^|\/)index\.yaml$/.test(path)) return { name: "*", version: null };
    const chart = CHART.exec(path);
    return chart ? { name: chart[1]!, version: chart[2]! } : null;
  }
  if (type === "docker") {
    const docker = /^(?:v2\/)?(.+)\/(manifests\/([^/]+)|tags\/list)$/.exec(path);
    if (!docker) return null;
    return { name: docker[1]!, version: docker[3] ?? null };
  }
  return null;
}

function pypiFile(filename: string): PackageObject | null {
  const match = WHEEL.exec(filename) ?? SDIST.exec(filename);
  return match ? { name: normalizeProjectName(match[1]!), version: match[2]! } : null;
}

/** The versions an index document lists for a package (newest last where the document orders them), or null when it cannot be read. */
export function versionsInIndex(type: string, name: string, document: string): string[] | null {
  try {
    if (type === "npm") return Object.keys((JSON.parse(document) as { versions?: object }).versions ?? {});
    if (type === "docker") return (JSON.parse(document) as { tags?: string[] }).tags ?? [];
    if (type === "helm") {
      const entries = (parseYaml(document) as { entries?: Record<string, { version?: string }[]> }).entries ?? {};
      return (entries[name] ?? []).map((entry) => String(entry.version));
    }
    if (type === "pypi") {
      const filenames = document.trimStart().startsWith("{")
        ? ((JSON.parse(document) as { files?: { filename: string }[] }).files ?? []).map((file) => file.filename)
        : [...document.matchAll(/<a\b[^>]*>([^<]+)<\/a>/gi)].map((match) => match[1]!.trim());
      return [...new Set(filenames.map(pypiFile).filter((file) => file?.name === name).map((file) => file!.version!))];
    }
  } catch {
    return null;
  }
  return null;
}
