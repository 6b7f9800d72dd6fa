import { parse, stringify, type Tags } from "yaml";
import { MemberReader, MergeError, relinker, routeKey, Routes, type FoundDocument, type Merged, type MergeContext, type MemberDocument } from "./members.ts";

/**
 * Helm `index.yaml` merged for a virtual: entries per chart and version, the first member (in
 * order) winning a version both have; a chart that a local member has comes from the locals
 * only; chart `urls` through the virtual, each routed to its member; `digest` and every other
 * field of an entry kept; `generated` set to the merge's time. The documents are parsed whole
 * (an index is YAML, which cannot be split as it streams by name).
 */

export interface HelmMergeContext extends MergeContext {
  /** When the merge is made: the index's `generated` (providers do no I/O, the clock included). */
  now: Date;
}

/** A plain YAML number, kept as written: `appVersion: 1.10` must not come back as 1.1. */
class NumberText {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  toString(): string {
    return this.text;
  }
}

const NUMBER_TAGS = new Set(["tag:yaml.org,2002:int", "tag:yaml.org,2002:float"]);

/** The core schema with its number tags resolving to NumberText and writing it back as it was. */
function numbersAsWritten(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== "object" || !("tag" in tag) || !NUMBER_TAGS.has(tag.tag) || !("test" in tag) || !tag.test) return tag;
    return {
      tag: tag.tag,
      test: tag.test,
      default: true,
      identify: (value: unknown) => value instanceof NumberText,
      resolve: (text: string) => new NumberText(text),
      stringify: (item: { value: unknown }) => String(item.value),
    };
  });
}

const YAML_OPTIONS = { customTags: numbersAsWritten } as const;

type Entry = Record<string, unknown>;

/** A YAML mapping (not a list, nor a NumberText). */
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** A member's index: its charts' entries and its other top-level fields. */
function readIndex(found: FoundDocument): { charts: Map<string, Entry[]>; fields: Record<string, unknown> } {
  let index: unknown;
  try {
    index = parse(found.body, YAML_OPTIONS);
  } catch (error) {
    throw new MergeError(found.member.name, `index.yaml is not YAML (${(error as Error).message.split("\n")[0]})`);
  }
  if (!isObject(index)) throw new MergeError(found.member.name, "index.yaml is not a mapping");
  const { entries, ...fields } = index;
  if (entries !== undefined && entries !== null && !isObject(entries)) throw new MergeError(found.member.name, "index.yaml's entries is not a mapping");
  const charts = new Map<string, Entry[]>();
  for (const [chart, versions] of Object.entries(entries ?? {})) {
    if (versions === null) continue;
    if (!Array.isArray(versions) || !versions.every(isObject)) throw new MergeError(found.member.name, `index.yaml's entries.${chart} is not a list of chart versions`);
    if (versions.length > 0) charts.set(chart, versions);
  }
  return { charts, fields };
}

export function mergeHelmIndex(documents: readonly MemberDocument[], ctx: HelmMergeContext): Merged {
  const reader = new MemberReader<FoundDocument>(documents, "entries", ctx.mergeLocalsWithRemotes);
  const routes = new Routes();
  /** Charts a local member has: remote entries under these names are left out. */
  const owned = new Set<string>();
  const entries = new Map<string, Map<string, Entry>>();
  let fields: Record<string, unknown> | null = null;
  for (let found = reader.next(); found; found = reader.next()) {
    const index = readIndex(found);
    const relink = relinker(found.base, ctx);
    for (const [chart, versions] of index.charts) {
      if (found.member.kind === "remote" && owned.has(chart)) {
        reader.shadow(found.member);
        continue;
      }
      const merged = entries.get(chart) ?? new Map<string, Entry>();
      entries.set(chart, merged);
      for (const entry of versions) {
        const version = String(entry.version ?? "");
        if (merged.has(version)) continue;
        const urls = Array.isArray(entry.urls) ? entry.urls.map((url) => (typeof url === "string" ? relink(url) : { href: url, route: null })) : [];
        const paths = urls.flatMap((url) => (url.route ? [routeKey(url.route)] : []));
        if (!routes.free(paths, found.member)) continue;
        routes.add(paths, found.member);
        merged.set(version, Array.isArray(entry.urls) ? { ...entry, urls: urls.map((url) => url.href) } : entry);
      }
    }
    if (found.member.kind === "local" && !ctx.mergeLocalsWithRemotes) for (const chart of index.charts.keys()) owned.add(chart);
    fields ??= index.charts.size > 0 ? index.fields : null;
    reader.done(index.charts.size > 0);
  }
  const index = {
    ...fields,
    apiVersion: "v1",
    entries: Object.fromEntries([...entries].map(([chart, versions]) => [chart, [...versions.values()]])),
    generated: ctx.now.toISOString(),
  };
  return {
    body: stringify(index, { ...YAML_OPTIONS, lineWidth: 0, aliasDuplicateObjects: false }),
    routes: routes.map,
    outcome: reader.outcome(),
  };
}
