import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * Three projects, run one after the other (groupOrder):
 * - unit: pure modules (providers, schema, policies) in Node, no I/O;
 * - workers: inside workerd: store adapters against the real backends (contract suites), and the
 *   request path's own tests on the in-memory stores (test/engine);
 * - integration: the whole proxy as `npm start` runs it, real origins and clients on loopback.
 */
export default defineConfig({
  test: {
    // Every run also writes a JSON report; .ci/run removes the old one first and reads the new
    // one for each project's test count and the plain "N passed, N failed" line.
    reporters: ["default", "json"],
    outputFile: { json: ".test-results.json" },
    projects: [
      {
        test: {
          name: "unit",
          sequence: { groupOrder: 0 },
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            miniflare: {
              compatibilityDate: "2026-11-01",
              compatibilityFlags: ["nodejs_compat"],
              r2Buckets: ["BLOBS"],
              bindings: {
                BACKENDS: inject("backends" as never) as unknown as Record<string, string>,
              },
            },
          })),
          {
            // The global setup runs in Node through Vitest's "__vitest__" environment; with the
            // Workers plugin's conditions it would get the browser builds of ws and ioredis.
            name: "global-setup-resolves-for-node",
            configEnvironment(name, config) {
              if (name !== "__vitest__") return;
              config.resolve = { ...config.resolve, conditions: ["node", "import", "module", "default"], mainFields: ["module", "main"] };
            },
          },
        ],
        resolve: {
          // The same swap wrangler.toml's [alias] makes for the deployed bundle (see the file).
          alias: [{ find: /^@aws-sdk\/xml-builder$/, replacement: fileURLToPath(new URL("infra/blob/aws-xml-builder.js", import.meta.url)) }],
        },
        test: {
          name: "workers",
          sequence: { groupOrder: 1 },
          include: ["test/contract/**/*.test.ts", "test/engine/**/*.test.ts"],
          globalSetup: ["test/contract/global-setup.ts"],
        },
      },
      {
        test: {
          name: "integration",
          // Last and alone: real clients and timing-sensitive fault tests on a 2-core machine.
          sequence: { groupOrder: 2 },
          include: ["test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"],
          globalSetup: ["test/integration/global-setup.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
