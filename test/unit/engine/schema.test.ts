import { describe, expect, it } from "vitest";
import { ConfigError, parseRemotes } from "../../../functions/config/schema.ts";

const problemsOf = (document: unknown): string[] => {
  try {
    parseRemotes(document);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected the document to be refused");
};

describe("remotes file", () => {
  it("fills defaults a user can rely on", () => {
    const [remote] = parseRemotes({ remotes: { github: { base_url: "https://github.com" } } });
    expect(remote).toMatchObject({
      name: "github",
      package: "generic",
      patterns: [],
      blocklist: [],
      immutable_ttl: 0,
      mutable_ttl: 300,
      allow_private_network: false,
    });
  });

  it("accepts the earlier Python version's keys", () => {
    const [remote] = parseRemotes({
      remotes: {
        alpine: {
          base_url: "https://dl-cdn.example.org",
          type: "remote",
          package: "generic",
          include_patterns: [".*/x86_64/.*\\.apk$"],
          cache: { file_ttl: 0, index_ttl: 7200 },
        },
      },
    });
    expect(remote).toMatchObject({ patterns: [".*/x86_64/.*\\.apk$"], immutable_ttl: 0, mutable_ttl: 7200 });
  });

  it("refuses the whole file, naming each remote, key and problem", () => {
    const problems = problemsOf({
      remotes: {
        good: { base_url: "https://example.org" },
        bad: { base_url: "ftp://example.org", patterns: ["ok", "("], mutable_ttl: -1, colour: "blue" },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        "remote 'bad': key 'base_url': must be an http(s) URL",
        expect.stringMatching(/^remote 'bad': key 'patterns\[1\]': is not a supported regular expression/),
        expect.stringMatching(/^remote 'bad': key 'mutable_ttl': /),
        "remote 'bad': unknown key 'colour'",
      ]),
    );
  });

  it("refuses patterns a linear-time engine cannot run, naming the remote and key", () => {
    const problems = problemsOf({
      remotes: {
        r: {
          base_url: "https://example.org",
          patterns: ["^(\\w+)/\\1/"],
          blocklist: ["foo(?=bar)"],
          mutable_patterns: ["(?<=v)1"],
          immutable_patterns: ["(?!x)y"],
        },
      },
    });
    for (const key of ["patterns[0]", "blocklist[0]", "mutable_patterns[0]", "immutable_patterns[0]"]) {
      expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^remote 'r': key '${key.replace(/[[\]]/g, "\\$&")}': is not a supported regular expression .*RE2 syntax`)));
    }
    // Catastrophic for a backtracking engine, harmless for RE2: accepted.
    expect(parseRemotes({ remotes: { r: { base_url: "https://example.org", patterns: ["(a+)+$", "^releases/.*\\.tar\\.gz$"] } } })).toHaveLength(1);
  });

  it("refuses package types this version does not serve and local repositories", () => {
    expect(problemsOf({ remotes: { x: { base_url: "https://example.org", package: "cobol" } } })).toEqual([
      expect.stringMatching(/^remote 'x': key 'package': unknown package type 'cobol' \(one of: generic, pypi, npm, .*\)$/),
    ]);
    expect(problemsOf({ remotes: { x: { base_url: "https://example.org", type: "local" } } })).toEqual(["remote 'x': unknown key 'type'"]);
  });

  it("keeps remotes off private networks unless allowed, and credentials out of URLs", () => {
    for (const base_url of [
      "http://127.0.0.1:8080",
      "http://10.1.2.3",
      "http://[::1]/",
      "http://169.254.169.254",
      "http://localhost",
      "http://[64:ff9b::7f00:1]/",
      "http://[2002:a00:1::]/",
      "http://[fec0::1]/",
      "http://intranet/",
      "http://redis:6379/",
    ]) {
      expect(problemsOf({ remotes: { x: { base_url } } })[0]).toMatch(/^remote 'x': key 'base_url': points at a private or loopback address/);
    }
    expect(parseRemotes({ remotes: { x: { base_url: "http://127.0.0.1:8080", allow_private_network: true } } })).toHaveLength(1);
    expect(problemsOf({ remotes: { x: { base_url: "https://pypi.example.org", file_hosts: ["files.example.org", "intranet:8080", "10.0.0.5"] } } })).toEqual([
      "remote 'x': key 'file_hosts[1]': 'intranet:8080' is a private, loopback or single-label host; set allow_private_network: true to allow it",
      "remote 'x': key 'file_hosts[2]': '10.0.0.5' is a private, loopback or single-label host; set allow_private_network: true to allow it",
    ]);
    expect(problemsOf({ remotes: { x: { base_url: "https://user:pw@example.org" } } })).toEqual([
      "remote 'x': key 'base_url': must not contain credentials; use auth",
    ]);
  });

  it("needs exactly one source for an auth secret", () => {
    expect(problemsOf({ remotes: { x: { base_url: "https://example.org", auth: { type: "bearer" } } } })).toEqual([
      "remote 'x': key 'auth': needs exactly one of token or token_env",
    ]);
    const [remote] = parseRemotes({ remotes: { x: { base_url: "https://example.org", auth: { type: "bearer", token_env: "GITHUB_TOKEN" } } } });
    expect(remote!.auth).toEqual({ type: "bearer", token_env: "GITHUB_TOKEN" });
  });
});
