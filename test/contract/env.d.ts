import type { Backends } from "./global-setup.ts";

// Bindings vitest.config.ts gives the "workers" project.
declare global {
  namespace Cloudflare {
    interface Env {
      BLOBS: R2Bucket;
      BACKENDS: Backends;
    }
  }
}
