import { expect, it } from "vitest";
import { decide } from "../../../providers/access.ts";
import { generic } from "../../../providers/generic.ts";
import { parseRange } from "../../../functions/proxy/serve.ts";

it("parses the byte ranges clients send", () => {
  expect(parseRange("bytes=0-9", 100)).toEqual({ offset: 0, length: 10 });
  expect(parseRange("bytes=90-", 100)).toEqual({ offset: 90, length: 10 });
  expect(parseRange("bytes=-5", 100)).toEqual({ offset: 95, length: 5 });
  expect(parseRange("bytes=50-500", 100)).toEqual({ offset: 50, length: 50 });
  expect(parseRange("bytes=100-", 100)).toBe("unsatisfiable");
  expect(parseRange("bytes=-0", 100)).toBe("unsatisfiable");
  // Several ranges, malformed or reversed ranges: answered with the whole body.
  expect(parseRange("bytes=0-1,5-6", 100)).toBeNull();
  expect(parseRange("items=0-1", 100)).toBeNull();
  expect(parseRange("bytes=9-3", 100)).toBeNull();
  expect(parseRange(null, 100)).toBeNull();
});

const rules = { patterns: [] as string[], blocklist: [] as string[], mutable_patterns: [] as string[], immutable_patterns: [] as string[] };

it("checks the blocklist before the allowlist, then the overrides", () => {
  const guarded = { ...rules, patterns: ["^releases/"], blocklist: ["-rc\\d*/"], mutable_patterns: ["/latest/"] };
  expect(decide(guarded, generic, "releases/v1.0-rc1/app.tgz").kind).toBe("denied");
  expect(decide(guarded, generic, "other/app.tgz")).toEqual({ kind: "denied", reason: "path matches none of the remote's patterns" });
  expect(decide(guarded, generic, "releases/latest/app.tgz").kind).toBe("mutable");
  expect(decide(guarded, generic, "releases/v1.0/app.tgz").kind).toBe("immutable");
  // Patterns are searched, not anchored.
  expect(decide({ ...rules, patterns: ["app"] }, generic, "releases/v1.0/app.tgz").kind).toBe("immutable");
});

it("matches catastrophic patterns from config in linear time", () => {
  // A backtracking RegExp takes about 2^40 steps for this path; RE2 one pass.
  const hostile = { ...rules, patterns: ["(a+)+$"], blocklist: ["^(x+x+)+y"] };
  expect(decide(hostile, generic, `${"a".repeat(40)}!`).kind).toBe("denied");
  expect(decide(hostile, generic, `${"x".repeat(40)}/a`).kind).toBe("immutable");
});
