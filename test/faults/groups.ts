import type { FaultEnv, FaultRow } from "./harness.ts";
import { originFaultRows } from "./origin-faults.ts";

/** The fault suite's groups, each on a stack of its own: what `npm test` asserts and `npm run faults` prints. */
export const faultGroups: { name: string; run: (env: FaultEnv) => Promise<FaultRow[]> }[] = [
  { name: "upstream faults: cut, stall, 5xx storm, 429, header timeout, wrong length, redirect loop", run: originFaultRows },
];
