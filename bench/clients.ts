import { access } from "node:fs/promises";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import type { ClientPath, ClientResult } from "./client-runs.ts";
import { formatSize, type ClientBenchConfig } from "./config.ts";
import { npmBench } from "./npm-bench.ts";
import { pipBench } from "./pip-bench.ts";
import { available, run, type Cleanup } from "./processes.ts";
import { skopeoBench } from "./skopeo-bench.ts";
import { fmt, Table } from "./table.ts";

const VERDACCIO = resolve(import.meta.dirname, "../node_modules/verdaccio/bin/verdaccio");
const COLUMNS: Record<ClientPath | "ratio", string> = {
  proxy: "artifactapi-edge",
  peer: "the ecosystem's own cache",
  direct: "upstream direct",
  ratio: "ratios (warm median)",
};

/** What the client section needs and how to get it, for whatever is missing. */
export async function missingClientTools(): Promise<string[]> {
  const missing: string[] = [];
  if (!(await available("npm"))) missing.push("npm (comes with Node)");
  if (!(await access(VERDACCIO).then(() => true, () => false))) missing.push("verdaccio (npm install: it is a devDependency)");
  if (!(await run("python3", ["-m", "pip", "--version"], 30_000).then(() => true, () => false))) missing.push("python3 with pip (apt-get install -y python3-pip)");
  for (const tool of ["skopeo", "docker-registry"]) if (!(await available(tool))) missing.push(`${tool} (apt-get install -y ${tool})`);
  return missing;
}

/**
 * Real clients through the proxy, through each ecosystem's own pull-through cache and straight
 * from the upstream, all on loopback; prints the second table of `npm run bench`.
 */
export async function clientBench(cleanup: Cleanup, config: ClientBenchConfig): Promise<void> {
  const loadBefore = loadavg()[0]!;
  const table = new Table(Object.values(COLUMNS));
  // Issue 14's targets: warm runs at least as fast as the ecosystem's own cache (pip has none here: within 5% of the upstream).
  const sections: { scenario: string; measure: typeof npmBench; target: Target }[] = [
    { scenario: `npm install, ${config.npmPackages} packages (own cache: verdaccio uplink, maxage 60m)`, measure: npmBench, target: { versus: "peer", within: 1, name: "verdaccio" } },
    { scenario: `pip download, ${config.pipWheels} wheels (PEP 503 tree on python3 -m http.server)`, measure: pipBench, target: { versus: "direct", within: 1.05, name: "the upstream directly" } },
    { scenario: `skopeo copy, ${formatSize(config.imageBytes)} image (own cache: distribution proxy:)`, measure: skopeoBench, target: { versus: "peer", within: 1, name: "distribution's proxy" } },
  ];
  const verdicts: string[] = [];
  for (const { scenario, measure, target } of sections) {
    const mark = cleanup.mark();
    const result = await measure(cleanup, config);
    fill(table, scenario, result);
    verdicts.push(verdict(scenario, result, target, loadavg()[0]!));
    await cleanup.unwind(mark);
  }
  const loadAfter = loadavg()[0]!;
  console.log(`\n## artifactapi-edge with real clients (${config.quick ? "BENCH_QUICK smoke run" : "full run"}, loopback, ${new Date().toISOString()})\n`);
  console.log(table.render());
  console.log(`\nTargets:\n${verdicts.map((line) => `- ${line}`).join("\n")}`);
  console.log(
    `\nEach path warmed by one run, then ${config.runs} warm runs per path, interleaved; times are the client command's wall clock ` +
      `(process start to exit) from a clean client state (new project and npm cache, --no-cache-dir, new skopeo dir:). ` +
      `Upstream requests are counted by a forwarder in front of the upstream (the direct npm and pip runs go to the upstream without it). ` +
      `The proxy runs as \`npm start\` does with no backend variables (embedded backends). ` +
      `Load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after.`,
  );
}

/** The warm median must be at most `within` × the `versus` path's. */
interface Target {
  versus: "peer" | "direct";
  within: number;
  name: string;
}

function verdict(scenario: string, result: ClientResult, target: Target, load: number): string {
  const proxy = result.proxy?.medianMs;
  const other = result[target.versus]?.medianMs;
  if (proxy === undefined || other === undefined) return `FAIL ${scenario}: not measured`;
  const ratio = proxy / other;
  const goal = target.within === 1 ? `≤ ${target.name}` : `≤ ${target.within}× ${target.name}`;
  return `${ratio <= target.within ? "PASS" : "FAIL"} ${scenario}, warm run ${goal}: ${fmt(proxy)} vs ${fmt(other)} ms (${fmt(ratio)}×) (load ${load.toFixed(2)})`;
}

function fill(table: Table, scenario: string, result: ClientResult): void {
  for (const path of ["proxy", "peer", "direct"] as const) {
    const timing = result[path];
    if (!timing) continue;
    table.set(scenario, "first (cold) run ms", COLUMNS[path], fmt(timing.coldMs));
    table.set(scenario, "warm run ms (median)", COLUMNS[path], fmt(timing.medianMs));
    table.set(scenario, "upstream requests per warm run", COLUMNS[path], timing.upstreamPerRun === null ? "not counted" : fmt(timing.upstreamPerRun, Number.isInteger(timing.upstreamPerRun) ? 0 : 2));
  }
  const direct = result.direct?.medianMs;
  const ratio = (path: "proxy" | "peer") => (result[path] && direct ? `${path === "proxy" ? "proxy" : "own cache"}/direct ${fmt(result[path].medianMs / direct)}` : null);
  table.set(scenario, "warm run ms (median)", COLUMNS.ratio, [ratio("proxy"), ratio("peer")].filter(Boolean).join(" · "));
}
