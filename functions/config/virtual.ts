import { z } from "zod";

/**
 * A virtual repository: one URL in front of several remotes of the same package type, asked in
 * order. Stored and validated now; serving it comes with the virtual-repository work.
 */
export const virtualSchema = z.strictObject({
  package: z.string().default("generic"),
  description: z.string().default(""),
  /** Member remotes, in the order they are asked. */
  remotes: z.array(z.string().min(1)).min(1, "needs at least one member remote"),
  hostnames: z.array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a lowercase host name")).default([]),
});

export type VirtualConfig = z.output<typeof virtualSchema> & { name: string };
