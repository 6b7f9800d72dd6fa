import { RE2JS } from "re2js";

/**
 * The config's path patterns (`patterns`, `blocklist`, `mutable_patterns`, `immutable_patterns`)
 * in RE2 syntax, matched by a linear-time engine: patterns can come from anyone holding an admin
 * token and run on every request, so a pattern like `(a+)+$` must not be able to stall an isolate
 * the way a backtracking RegExp can. What RE2 cannot do in linear time (backreferences,
 * lookahead, lookbehind) is refused when the config is validated.
 */
export interface PathPattern {
  test(path: string): boolean;
}

const compiledPatterns = new Map<string, PathPattern>();

/** Compiled once per isolate: patterns come from config, which changes rarely. Throws on invalid syntax. */
export function compilePattern(pattern: string): PathPattern {
  let compiled = compiledPatterns.get(pattern);
  if (!compiled) {
    compiled = RE2JS.compile(pattern);
    compiledPatterns.set(pattern, compiled);
  }
  return compiled;
}

/** Why a pattern cannot be used, for the config validator; null when it compiles (not cached: any input is validated). */
export function patternProblem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (error) {
    const reason = (error as Error).message.replace(/^error parsing regexp: /, "");
    return `is not a supported regular expression (${reason}); patterns use RE2 syntax, which has no backreferences, lookahead or lookbehind`;
  }
}
