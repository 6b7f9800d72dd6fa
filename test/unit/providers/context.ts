import type { RewriteContext } from "../../../providers/types.ts";

/** A rewrite context as the proxy builds it for a request behind a TLS-terminating load balancer. */
export function context(path: string, overrides: Partial<RewriteContext> = {}): RewriteContext {
  return {
    proxyBase: "https://dl.example.com/api/v1/remote/r",
    upstreamBase: "https://upstream.example.org",
    fileHosts: [],
    path,
    contentType: null,
    ...overrides,
  };
}
