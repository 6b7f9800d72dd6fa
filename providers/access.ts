import { compilePattern } from "./patterns.ts";
import type { Classification, Provider } from "./types.ts";

/** The access-control part of a remote's config, as the decision needs it. */
export interface AccessRules {
  patterns: string[];
  blocklist: string[];
  mutable_patterns: string[];
  immutable_patterns: string[];
}

/**
 * Decides what to do with a path: blocklist first, then the allowlist (`patterns`,
 * empty = everything), then the explicit overrides, then the provider's own classification.
 * Patterns are regular expressions (RE2 syntax, linear-time) searched, not anchored, in the path.
 */
export function decide(rules: AccessRules, provider: Provider, path: string): Classification {
  const blocked = firstMatch(rules.blocklist, path);
  if (blocked !== undefined) return { kind: "denied", reason: `path matches blocklist pattern ${blocked}` };
  if (rules.patterns.length > 0 && firstMatch(rules.patterns, path) === undefined) {
    return { kind: "denied", reason: "path matches none of the remote's patterns" };
  }
  const classified = provider.classify(path);
  if (classified.kind === "denied") return classified;
  const forcedMutable = firstMatch(rules.mutable_patterns, path);
  if (forcedMutable !== undefined) return { kind: "mutable", reason: `path matches mutable pattern ${forcedMutable}` };
  const forcedImmutable = firstMatch(rules.immutable_patterns, path);
  if (forcedImmutable !== undefined) {
    return { kind: "immutable", reason: `path matches immutable pattern ${forcedImmutable}` };
  }
  return classified;
}

function firstMatch(patterns: string[], path: string): string | undefined {
  return patterns.find((pattern) => compilePattern(pattern).test(path));
}
