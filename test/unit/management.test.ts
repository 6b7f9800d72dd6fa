import { describe, expect, it } from "vitest";
import { constantTimeEqual, presentedToken, tokenList } from "../../functions/auth.ts";
import { expandBraces } from "../../functions/routes/management/expand.ts";
import { redactSecrets, restoreSecrets } from "../../functions/routes/management/secrets.ts";

describe("prefetch patterns", () => {
  it("expands alternatives, numeric ranges and nested groups", () => {
    expect(expandBraces("pkg-{1.0,1.1}.tgz", 10)).toEqual(["pkg-1.0.tgz", "pkg-1.1.tgz"]);
    expect(expandBraces("v{1..3}/a", 10)).toEqual(["v1/a", "v2/a", "v3/a"]);
    expect(expandBraces("{a,b{1,2}}/x", 10)).toEqual(["a/x", "b1/x", "b2/x"]);
    expect(expandBraces("plain/path", 10)).toEqual(["plain/path"]);
  });

  it("refuses unbalanced braces and too many paths", () => {
    expect(() => expandBraces("a{b", 10)).toThrow(/unbalanced/);
    expect(() => expandBraces("{1..200}", 100)).toThrow(/more than 100/);
  });

  it("stops at the limit before building a huge range or product", () => {
    const before = process.memoryUsage().heapUsed;
    expect(() => expandBraces("v{1..999999999}/a", 100)).toThrow(/more than 100/);
    expect(() => expandBraces("{0..9}".repeat(40), 100)).toThrow(/more than 100/);
    expect(() => expandBraces("{a,b}".repeat(300), 100)).toThrow(/more than 100/);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 1024 * 1024);
    expect(expandBraces("{1..100}", 100)).toHaveLength(100);
  });
});

describe("write-only secrets", () => {
  const stored = { base_url: "https://x", auth: { type: "bearer", token: "t0k" }, read_tokens: ["r1"], token_env: "CI" };

  it("shows set secrets as {set: true} and leaves the rest", () => {
    expect(redactSecrets(stored)).toEqual({ base_url: "https://x", auth: { type: "bearer", token: { set: true } }, read_tokens: { set: true }, token_env: "CI" });
    expect(redactSecrets({ read_tokens: [] })).toEqual({ read_tokens: [] });
  });

  it("puts stored values back where {set: true} came back, and names the ones it cannot", () => {
    expect(restoreSecrets(redactSecrets(stored), stored)).toEqual({ config: stored, missing: [] });
    expect(restoreSecrets({ auth: { type: "basic", username: "u", password: { set: true } } }, stored).missing).toEqual(["auth.password"]);
  });
});

describe("tokens", () => {
  it("compares exactly, whatever the lengths", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("ab", "abc")).toBe(false);
    expect(constantTimeEqual("abcd", "abc")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });

  it("reads comma-separated lists and Bearer or Basic credentials", () => {
    expect(tokenList(" a, b ,,c")).toEqual(["a", "b", "c"]);
    expect(tokenList(undefined)).toEqual([]);
    const bearer = new Request("http://x", { headers: { authorization: "Bearer abc" } });
    expect(presentedToken(bearer)).toBe("abc");
    const basic = new Request("http://x", { headers: { authorization: `Basic ${btoa("user:pa:ss")}` } });
    expect(presentedToken(basic)).toBe("pa:ss");
    expect(presentedToken(new Request("http://x"))).toBeNull();
  });
});
