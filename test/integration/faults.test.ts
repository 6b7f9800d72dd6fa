import { describe, expect, it } from "vitest";
import { faultGroups } from "../faults/groups.ts";
import { TEST_SCALE, type FaultRow } from "../faults/harness.ts";

/**
 * The fault suite (test/faults/), small: every row must serve no corrupted body and keep no
 * partial entry, and its own expectation must hold. `npm run faults` runs the same rows larger
 * and prints the table (bench/README.md).
 */
function expectRows(rows: FaultRow[]): void {
  for (const row of rows) console.log(`fault row: ${JSON.stringify(row)}`);
  for (const row of rows) {
    const summary = `${row.scenario}: ${JSON.stringify(row)}`;
    expect(row.corrupted, summary).toBe(0);
    expect(row.partialKept, summary).toBe(0);
    expect(row.held, `${row.scenario}: expected ${row.expectation}; got ${JSON.stringify(row)}`).toBe(true);
  }
}

describe("fault suite", () => {
  for (const group of faultGroups) {
    it(`survives ${group.name}`, { timeout: 240_000 }, async () => expectRows(await group.run({ scale: TEST_SCALE })));
  }
});
