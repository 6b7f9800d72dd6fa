/**
 * CI's verdict from the JSON report vitest wrote (.test-results.json): how many tests each
 * project ran, failing when one ran implausibly few (a glob typo that empties a project is
 * otherwise a green run), and last the plain "N passed, N failed, N skipped" line.
 * Run with the project's Node 22 (node_modules/.bin/node) after `npm test`.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** About 80% of what each project ran when this was written: raise them as the suite grows. */
const MIN_TESTS: Record<string, number> = { unit: 150, workers: 85, integration: 125 };
const REPORT = ".test-results.json";

interface Report {
  testResults: { name: string; status: string; assertionResults: { status: string }[] }[];
}

if (!existsSync(REPORT)) {
  console.error(`ci: no ${REPORT}: vitest did not finish a run`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(REPORT, "utf8")) as Report;

// The JSON report does not name a file's project; vitest itself maps files to projects from vitest.config.ts.
const vitest = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
const listed = JSON.parse(execFileSync(process.execPath, [vitest, "list", "--filesOnly", "--json"], { encoding: "utf8" })) as { file: string; projectName: string }[];
const projectOf = new Map(listed.map((entry) => [entry.file, entry.projectName]));

const ran = new Map(Object.keys(MIN_TESTS).map((project) => [project, 0]));
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of report.testResults) {
  const project = projectOf.get(file.name) ?? "(no project)";
  const count = file.assertionResults.filter((test) => test.status === "passed" || test.status === "failed").length;
  ran.set(project, (ran.get(project) ?? 0) + count);
  // A file that could not even be collected (an import that throws) has no tests: count it once.
  if (file.status === "failed" && file.assertionResults.length === 0) totals.failed++;
  for (const test of file.assertionResults) {
    // A file that failed in its setup (beforeAll) reports its tests as skipped: they failed.
    if (test.status === "passed") totals.passed++;
    else if (test.status === "failed" || file.status === "failed") totals.failed++;
    else totals.skipped++;
  }
}

let plausible = true;
for (const [project, count] of ran) {
  const minimum = MIN_TESTS[project];
  const ok = minimum !== undefined && count >= minimum;
  console.log(`ci: project ${project}: ${count} tests ran${ok ? "" : minimum === undefined ? " (not a known project)" : `, fewer than ${minimum}: is its include glob right?`}`);
  plausible &&= ok;
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(plausible ? 0 : 1);
