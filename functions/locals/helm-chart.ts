import { rcompare, valid } from "semver";
import { parse, stringify } from "yaml";
import type { Json } from "../../infra/meta/local-store.ts";
import { ArchiveError, findInTarGz } from "./tar.ts";

/** A chart's Chart.yaml that this size cannot hold is not a chart. */
const MAX_CHART_YAML = 1024 * 1024;

/** A chart archive that helm would not accept: the message says why (400). */
export class ChartError extends Error {}

/** What an upload tells about its chart: Chart.yaml as helm reads it. */
export interface ChartMetadata {
  name: string;
  version: string;
  /** Chart.yaml's fields, the scalars as written (`appVersion: 1.10` stays "1.10"). */
  fields: Json;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Chart.yaml fields that helm reads as booleans (everything else is strings, lists and maps of them). */
const BOOLEAN_KEYS = new Set(["deprecated", "enabled"]);

/**
 * Reads `<chart>/Chart.yaml` from a chart archive (`helm package`'s .tgz) and checks what helm
 * checks before it installs one: apiVersion v1 or v2, a name, a SemVer 2 version.
 */
export async function readChart(archive: ReadableStream<Uint8Array>): Promise<ChartMetadata> {
  let found;
  try {
    // Chart.yaml of the chart itself: at depth one (subcharts' are deeper, under charts/).
    found = await findInTarGz(archive, (name) => /^[^/]+\/Chart\.yaml$/.test(name), MAX_CHART_YAML);
  } catch (error) {
    if (error instanceof ArchiveError) throw new ChartError(`the chart is not a helm chart archive: ${error.message}`);
    throw error;
  }
  if (!found) throw new ChartError("the chart archive has no <chart>/Chart.yaml");
  let document: unknown;
  try {
    // Failsafe: every scalar a string, as written; helm's own types are restored below.
    document = parse(new TextDecoder().decode(found.bytes), { schema: "failsafe" });
  } catch (error) {
    throw new ChartError(`Chart.yaml is not YAML (${(error as Error).message.split("\n")[0]})`);
  }
  if (!isMapping(document)) throw new ChartError("Chart.yaml is not a mapping");
  const fields = withBooleans(document) as Json;
  const { apiVersion, name, version } = fields;
  if (apiVersion !== "v1" && apiVersion !== "v2") throw new ChartError(`Chart.yaml: apiVersion must be v1 or v2, not ${JSON.stringify(apiVersion ?? null)}`);
  if (typeof name !== "string" || !NAME.test(name)) throw new ChartError(`Chart.yaml: name ${JSON.stringify(name ?? null)} is not a chart name`);
  if (typeof version !== "string" || valid(version) === null) throw new ChartError(`Chart.yaml: version ${JSON.stringify(version ?? null)} is not SemVer 2`);
  if (found.name.split("/")[0] !== name) throw new ChartError(`the chart's folder '${found.name.split("/")[0]}' is not its name '${name}'`);
  return { name, version, fields };
}

/** What a provenance file signs: the chart (its Chart.yaml's name and version) and the archives' digests by file name. */
export interface SignedChart {
  name: string;
  version: string;
  files: Record<string, string>;
}

/**
 * Reads a provenance file (`helm package --sign`: a PGP clear-signed message of the chart's
 * Chart.yaml, then `files:` with each archive's `sha256:…`) as ChartMuseum does: it must be a
 * signed message with a top-level `name:` and `version:`. The reason when it is not one.
 */
export function provenanceChart(text: string): SignedChart | string {
  if (!text.startsWith("-----BEGIN PGP SIGNED MESSAGE-----")) return "not a provenance file (it is no PGP signed message)";
  const field = (key: string) => new RegExp(`\n${key}:[ ]*(.+)`).exec(text)?.[1]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  const name = field("name");
  const version = field("version");
  if (!name || !NAME.test(name)) return "the provenance file names no chart (no top-level name:)";
  if (!version || valid(version) === null) return "the provenance file names no SemVer 2 version (no top-level version:)";
  const files: Record<string, string> = {};
  const block = /\nfiles:[ ]*\r?\n((?:[ \t]+\S.*\r?\n?)*)/.exec(text)?.[1] ?? "";
  for (const line of block.split("\n")) {
    const entry = /^\s+(\S+?):\s*(sha256:[0-9a-f]{64})\s*$/.exec(line);
    if (entry) files[entry[1]!] = entry[2]!;
  }
  return { name, version, files };
}

/** The archive's path below the local, as ChartMuseum lays it out. */
export const chartPath = (name: string, version: string) => `charts/${name}-${version}.tgz`;

/** One chart version of index.yaml: Chart.yaml's fields, and where and what the archive is. */
export interface IndexedVersion {
  fields: Json;
  url: string;
  digest: string;
  created: Date;
}

/** Entries per chart (by name), each chart's versions newest first: index.yaml's `entries`, and ChartMuseum's GET api/charts. */
export function chartEntries(charts: Map<string, IndexedVersion[]>): Record<string, Json[]> {
  const entries: Record<string, Json[]> = {};
  for (const name of [...charts.keys()].sort()) {
    const versions = [...charts.get(name)!].sort((a, b) => rcompare(String(a.fields.version), String(b.fields.version)));
    entries[name] = versions.map(chartVersion);
  }
  return entries;
}

/**
 * `index.yaml` as `helm repo index` writes it: apiVersion v1, entries per chart newest version
 * first, each with Chart.yaml's fields, `urls`, `digest` (sha256 of the archive) and `created`.
 */
export function helmIndex(charts: Map<string, IndexedVersion[]>, generated: Date): string {
  return stringify({ apiVersion: "v1", entries: chartEntries(charts), generated: generated.toISOString() });
}

/** One version as ChartMuseum's JSON API and index.yaml show it. */
function chartVersion(version: IndexedVersion): Json {
  return { ...version.fields, urls: [version.url], created: version.created.toISOString(), digest: version.digest };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withBooleans(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => withBooleans(item));
  if (isMapping(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBooleans(v, k)]));
  if (key !== undefined && BOOLEAN_KEYS.has(key) && (value === "true" || value === "false")) return value === "true";
  return value;
}
