import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ConfigError, parseConfigFile, parseRemotes, parseRepositories } from "../../../functions/config/schema.ts";

const problemsOf = (document: unknown): string[] => {
  try {
    parseRepositories(document);
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

  it("refuses package types this version does not serve, and types of repository it does not know", () => {
    expect(problemsOf({ remotes: { x: { base_url: "https://example.org", package: "cobol" } } })).toEqual([
      expect.stringMatching(/^remote 'x': key 'package': unknown package type 'cobol' \(one of: generic, pypi, npm, .*\)$/),
    ]);
    expect(problemsOf({ remotes: { x: { base_url: "https://example.org", type: "mirror" } } })).toEqual([
      `remote 'x': key 'type': type must be "remote" (the default) or "local"`,
    ]);
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

describe("local repositories in the remotes file", () => {
  it("fills defaults: generic, public, 1 GiB uploads, no overwrite; sizes may have units", () => {
    expect(parseRepositories({ remotes: { f: { type: "local", max_upload_size: "500 MiB" } } })[0]).toMatchObject({ max_upload_size: 500 * 1024 * 1024 });
    const [local] = parseRepositories({ remotes: { files: { type: "local" } } });
    expect(local).toEqual({
      name: "files",
      type: "local",
      package: "generic",
      description: "",
      patterns: [],
      blocklist: [],
      private: false,
      read_tokens: [],
      write_tokens: [],
      max_upload_size: 1073741824,
      allow_overwrite: false,
      hostnames: [],
    });
  });

  it("takes the issue's example as written, and keeps locals out of parseRemotes", () => {
    const document = {
      remotes: {
        "team-npm": {
          type: "local",
          package: "npm",
          description: "our private packages",
          write_tokens_env: "TEAM_NPM_WRITE_TOKENS",
          private: false,
          max_upload_size: 1073741824,
          allow_overwrite: false,
        },
        github: { base_url: "https://github.com" },
      },
    };
    expect(parseRepositories(document).map((r) => `${r.name}:${r.type ?? "remote"}:${r.package}`)).toEqual(["team-npm:local:npm", "github:remote:generic"]);
    expect(parseRemotes(document).map((r) => r.name)).toEqual(["github"]);
  });

  it("names the package types a local can be, refuses base_url, and overwrite outside generic", () => {
    for (const type of ["rpm", "alpine", "goproxy", "puppet", "terraform", "circleci"]) {
      expect(problemsOf({ remotes: { x: { type: "local", package: type } } })).toEqual([
        `remote 'x': key 'package': a local repository cannot be package '${type}': locals can be generic, npm, pypi, helm, docker`,
      ]);
    }
    expect(problemsOf({ remotes: { x: { type: "local", base_url: "https://example.org" } } })).toEqual([
      "remote 'x': key 'base_url': a local repository has no base_url: its files are uploaded to it",
    ]);
    expect(problemsOf({ remotes: { x: { type: "local", package: "npm", allow_overwrite: true } } })).toEqual([
      "remote 'x': key 'allow_overwrite': only applies to package: generic (npm versions are immutable)",
    ]);
    expect(problemsOf({ remotes: { x: { type: "local", max_upload_size: 0, write_tokens_env: "not a name", mutable_ttl: 5 } } })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^remote 'x': key 'max_upload_size': /),
        "remote 'x': key 'write_tokens_env': must be an environment variable name",
        "remote 'x': unknown key 'mutable_ttl'",
      ]),
    );
  });

  it("loads the earlier Python version's published example unchanged", async () => {
    const document = parseYaml(await readFile(new URL("../../fixtures/python-remotes.yaml", import.meta.url), "utf8"));
    const repositories = parseRepositories(document);
    expect(repositories.map((r) => `${r.name}:${r.type ?? "remote"}:${r.package}`)).toEqual([
      "github:remote:generic",
      "hashicorp-releases:remote:generic",
      "alpine:remote:alpine",
      "almalinux:remote:rpm",
      "local-generic:local:generic",
    ]);
    expect(repositories[2]).toMatchObject({ patterns: [".*/x86_64/.*\\.apk$"], immutable_ttl: 0, mutable_ttl: 7200 });
    expect(repositories[4]).toMatchObject({ description: "Local generic file repository", cache: { file_ttl: 0, index_ttl: 0 } });
  });
});

describe("virtuals in the remotes file", () => {
  const remotes = {
    "team-npm": { type: "local", package: "npm" },
    npmjs: { base_url: "https://registry.npmjs.org", package: "npm" },
    files: { base_url: "https://example.com" },
  };
  const fileProblems = (virtuals: Record<string, unknown>): string[] => {
    try {
      parseConfigFile({ remotes, virtuals });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error("expected the document to be refused");
  };

  it("reads members (or the earlier remotes key), default_local and the dependency-confusion switch", () => {
    const { virtuals } = parseConfigFile({ remotes, virtuals: { npm: { package: "npm", members: ["team-npm", "npmjs"], default_local: "team-npm" }, old: { remotes: ["files"] } } });
    expect(virtuals[0]).toMatchObject({ name: "npm", members: ["team-npm", "npmjs"], default_local: "team-npm", merge_locals_with_remotes: false, private: false });
    expect(virtuals[1]).toMatchObject({ name: "old", members: ["files"], package: "generic" });
  });

  it("refuses members that are missing, of another type, or virtuals, and a default_local that is a remote", () => {
    expect(fileProblems({ v: { package: "npm", members: ["nope"] } })).toEqual(["virtual 'v': key 'members': no remote or local named 'nope'"]);
    expect(fileProblems({ v: { package: "npm", members: ["files"] } })).toEqual(["virtual 'v': key 'members': member 'files' is package 'generic', not 'npm'"]);
    expect(fileProblems({ v: { members: ["files"] }, w: { members: ["v"] } })).toEqual(["virtual 'w': key 'members': 'v' is a virtual; a virtual's members are remotes and locals, not other virtuals"]);
    expect(fileProblems({ v: { package: "npm", members: ["npmjs"], default_local: "npmjs" } })).toEqual(["virtual 'v': key 'default_local': 'npmjs' is a remote; writes can only go to a local"]);
    expect(fileProblems({ v: { package: "npm", members: ["npmjs"], default_local: "team-npm" } })).toEqual(["virtual 'v': key 'default_local': 'team-npm' is not one of the members"]);
    expect(fileProblems({ v: { members: [] } })).toEqual(["virtual 'v': key 'members': needs at least one member (remotes and locals, in order)"]);
  });
});
