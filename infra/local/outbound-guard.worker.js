// The Worker's global outbound under `npm start` (and a self-hosted workerd set up the same way):
// every fetch and WebSocket the Worker opens arrives here. The proxy's own backends (the Postgres
// WebSocket bridge, the Upstash bridge, an S3 endpoint) are reached as they are; everything else
// goes through PUBLIC_NETWORK, a workerd network service that resolves the name and connects only
// to public addresses (its allow/deny lists are checked on the address it connects to, so a name
// that resolves to loopback, or rebinds to it, is refused). Redirects are followed by the Worker
// itself, so every hop comes through here again.
export default {
  /** @param {Request} request @param {{ BACKEND_HOSTS: string[], TEST_HOSTS?: string[], TEST_OUTBOUND?: Fetcher, PUBLIC_NETWORK: Fetcher }} env */
  async fetch(request, env) {
    const url = new URL(request.url);
    if (env.BACKEND_HOSTS.includes(url.host)) return fetch(request);
    if (env.TEST_OUTBOUND && env.TEST_HOSTS?.includes(url.hostname)) return env.TEST_OUTBOUND.fetch(request);
    try {
      return await env.PUBLIC_NETWORK.fetch(request);
    } catch (error) {
      throw new Error(
        `${url.host}: ${error instanceof Error ? error.message : String(error)} (the outbound guard connects to public addresses only; ` +
          `a remote reaches private, loopback or link-local ones with allow_private_network: true)`,
      );
    }
  },
};
