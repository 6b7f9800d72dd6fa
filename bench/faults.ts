import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWorker } from "../infra/local/build-worker.ts";
import { faultGroups } from "../test/faults/groups.ts";
import { BENCH_SCALE, TEST_SCALE, type FaultRow } from "../test/faults/harness.ts";
import { fmt } from "./table.ts";

/**
 * `npm run faults`: the fault suite of test/faults/ (the rows `npm test` asserts) at benchmark
 * size, printed as the table in bench/README.md. Loopback only; every scenario is bounded in
 * requests and time, and the whole run stops itself after RUN_LIMIT_MS.
 * FAULTS_SCALE=test runs the smaller sizes of the test.
 */
const RUN_LIMIT_MS = 20 * 60_000;

async function main(): Promise<void> {
  const limit = setTimeout(() => {
    console.error(`faults: still running after ${RUN_LIMIT_MS / 60_000} min; stopping`);
    process.exit(2);
  }, RUN_LIMIT_MS);
  limit.unref();
  const scale = process.env.FAULTS_SCALE === "test" ? TEST_SCALE : BENCH_SCALE;
  const dir = await mkdtemp(join(tmpdir(), "artifactapi-faults-"));
  const rows: FaultRow[] = [];
  try {
    const bundleDir = await buildWorker(dir);
    for (const group of faultGroups) {
      console.error(`faults: ${group.name}…`);
      rows.push(...(await group.run({ scale, bundleDir })));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(render(rows));
  const failed = rows.filter((row) => row.corrupted > 0 || row.partialKept > 0 || !row.held);
  for (const row of failed) console.error(`faults: ${row.scenario}: expected ${row.expectation}`);
  process.exit(failed.length > 0 ? 1 : 0);
}

function render(rows: FaultRow[]): string {
  const header = ["scenario", "sent", "complete + correct", "corrupted", "partial kept", "stale served", "errors by status", "upstream fetches", "seconds", "expectation", "held"];
  const lines = [header, header.map(() => "---")];
  for (const row of rows) {
    const errors = Object.entries(row.errors).map(([status, count]) => `${status}×${count}`).join(", ") || "—";
    const timing = row.timing
      ? `; fast clients median ${fmt(row.timing.fastMedianMs, 0)} ms (alone ${fmt(row.timing.aloneMedianMs, 0)} ms, ${fmt(row.timing.fastMedianMs / row.timing.aloneMedianMs)}×), worst ${fmt(row.timing.fastWorstMs, 0)} ms; workerd RSS peak ${fmt(row.timing.rssPeakMiB, 0)} MiB`
      : "";
    lines.push([row.scenario, String(row.sent), String(row.correct), String(row.corrupted), String(row.partialKept), String(row.stale), errors, String(row.upstreamFetches), fmt(row.seconds, 1), row.expectation + timing, row.held ? "yes" : "**no**"]);
  }
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

await main();
