import { decide } from "../../providers/access.ts";
import { generic } from "../../providers/generic.ts";
import type { LocalConfig } from "../config/schema.ts";

/**
 * A local's `patterns` and `blocklist` apply to reads and writes alike, as a remote's do to reads:
 * the reason a path is refused, or null when it is allowed.
 */
export function pathDenied(local: LocalConfig, path: string): string | null {
  const decision = decide({ patterns: local.patterns, blocklist: local.blocklist, mutable_patterns: [], immutable_patterns: [] }, generic, path);
  return decision.kind === "denied" ? decision.reason : null;
}

/** A path below a local with no `.`, `..` or empty segment (an empty one only as a folder's trailing "/"). */
export function isCleanPath(path: string): boolean {
  const segments = path.split("/");
  return !segments.some((segment, i) => segment === "." || segment === ".." || (segment === "" && i < segments.length - 1));
}
