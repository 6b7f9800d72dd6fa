import type { FaultEnv, FaultRow } from "./harness.ts";
import { backendFaultRows } from "./backend-faults.ts";
import { clientFaultRows } from "./client-faults.ts";
import { originFaultRows } from "./origin-faults.ts";

/** The fault suite's groups, each on a stack of its own: what `npm test` asserts and `npm run faults` prints. */
export const faultGroups: { name: string; run: (env: FaultEnv) => Promise<FaultRow[]> }[] = [
  { name: "upstream faults: cut, stall, 5xx storm, 429, header timeout, wrong length, redirect loop", run: originFaultRows },
  { name: "client and leader faults: a 1 KB/s client, a leader that leaves, a download longer than its lease, racing leaders", run: clientFaultRows },
  { name: "backend faults: Redis, Postgres and S3 failing, workerd killed mid-fill", run: backendFaultRows },
];
