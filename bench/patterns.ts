/**
 * Per-request cost of the config's path patterns: RE2 (re2js, what providers/patterns.ts uses)
 * against the backtracking RegExp it replaced, on a realistic set (the README's examples plus the
 * kind of allowlists remotes carry) and on one catastrophic pattern. `node bench/patterns.ts`.
 */
import { RE2JS } from "re2js";

const rules = {
  blocklist: ["-(alpha|beta|rc)\\d*/", "^secret/", "\\.(exe|msi)$", "/nightly/"],
  patterns: [
    "^gruntwork-io/terragrunt/releases/download/",
    "^hashicorp/terraform/releases/download/v1\\.",
    "^cli/cli/releases/download/v2\\.[0-9]+\\.[0-9]+/",
    "^[a-z0-9-]+/[a-z0-9-]+/archive/refs/(heads|tags)/",
  ],
  mutable_patterns: ["/archive/refs/heads/.*\\.tar\\.gz$", "/latest/"],
  immutable_patterns: ["/releases/download/v[0-9.]+/[^/]+$"],
};
const paths = [
  "gruntwork-io/terragrunt/releases/download/v0.96.1/terragrunt_linux_amd64",
  "gruntwork-io/terragrunt/releases/download/v0.97.0-rc1/terragrunt_darwin_arm64",
  "hashicorp/terraform/releases/download/v1.9.8/terraform_1.9.8_linux_amd64.zip",
  "cli/cli/releases/download/v2.62.0/gh_2.62.0_linux_amd64.tar.gz",
  "acme/handbook/archive/refs/heads/main.tar.gz",
  "someone/else/releases/download/v1.0/tool.tar.gz",
];

type Matcher = { test(path: string): boolean };
type Compiled = { [K in keyof typeof rules]: Matcher[] };

const compile = (make: (pattern: string) => Matcher): Compiled =>
  Object.fromEntries(Object.entries(rules).map(([key, list]) => [key, list.map(make)])) as Compiled;

/** What providers/access.ts does per request: blocklist, allowlist, then the overrides. */
function decide(c: Compiled, path: string): string {
  if (c.blocklist.some((m) => m.test(path))) return "denied";
  if (!c.patterns.some((m) => m.test(path))) return "denied";
  if (c.mutable_patterns.some((m) => m.test(path))) return "mutable";
  if (c.immutable_patterns.some((m) => m.test(path))) return "immutable";
  return "provider";
}

function nsPerDecision(c: Compiled, rounds: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) sink += decide(c, paths[i % paths.length]!).length;
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error("unreachable");
  return elapsed / rounds;
}

const engines = { RegExp: compile((p) => new RegExp(p)), RE2: compile((p) => RE2JS.compile(p)) };
for (const path of paths) {
  if (decide(engines.RegExp, path) !== decide(engines.RE2, path)) throw new Error(`engines disagree on ${path}`);
}
const rounds = Number(process.env.BENCH_PATTERN_ROUNDS ?? 200_000);
for (const c of Object.values(engines)) nsPerDecision(c, rounds / 10); // warm up the JIT

const catastrophic = (make: (pattern: string) => Matcher, n: number) => {
  const matcher = make("(a+)+$");
  const path = `${"a".repeat(n)}!`;
  const start = process.hrtime.bigint();
  matcher.test(path);
  return Number(process.hrtime.bigint() - start) / 1e6;
};

console.log(`| engine | ns per request (11 patterns, ${paths.length} paths) | \`(a+)+$\` on 24 a's + '!' (ms) |`);
console.log("| --- | --- | --- |");
for (const [name, c] of Object.entries(engines)) {
  const make = name === "RE2" ? (p: string) => RE2JS.compile(p) : (p: string) => new RegExp(p);
  console.log(`| ${name} | ${Math.round(nsPerDecision(c, rounds))} | ${catastrophic(make, 24).toFixed(2)} |`);
}
