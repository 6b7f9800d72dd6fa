import { describe, expect, it } from "vitest";
import { parseRemote } from "../../functions/config/schema.ts";
import { proxyBase, requestHost } from "../../functions/proxy/proxy-base.ts";

const remote = parseRemote("pypi", { base_url: "https://pypi.org", package: "pypi", hostnames: ["pypi.example.com"] });
const request = (url: string, headers: Record<string, string> = {}) => new Request(url, { headers });
const base = (req: Request, env: Record<string, string> = {}, prefix = "/api/v1/remote") => proxyBase(req, remote, prefix, env).url;

describe("proxy base of a remote", () => {
  it("uses the request's own scheme and host under the route prefix", () => {
    expect(base(request("http://127.0.0.1:8787/api/v1/remote/pypi/simple/"))).toBe("http://127.0.0.1:8787/api/v1/remote/pypi");
    expect(base(request("http://127.0.0.1:8787/api/pypi/simple/"), {}, "/api")).toBe("http://127.0.0.1:8787/api/pypi");
  });

  it("ignores X-Forwarded-Proto and X-Forwarded-Host unless TRUST_FORWARDED says a load balancer sets them", () => {
    const forged = request("http://10.0.0.5/api/v1/remote/pypi/simple/", { "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" });
    expect(base(forged)).toBe("http://10.0.0.5/api/v1/remote/pypi");
    expect(proxyBase(forged, remote, "/api/v1/remote", {}).vary).toEqual([]);
    const behindProxy = request("http://10.0.0.5/api/v1/remote/pypi/simple/", { "x-forwarded-proto": "https, http", "x-forwarded-host": "dl.example.com, lb.internal" });
    expect(base(behindProxy, { TRUST_FORWARDED: "true" })).toBe("https://dl.example.com/api/v1/remote/pypi");
    expect(proxyBase(behindProxy, remote, "/api/v1/remote", { TRUST_FORWARDED: "true" }).vary).toEqual(["X-Forwarded-Host", "X-Forwarded-Proto"]);
    expect(requestHost(behindProxy, {})).toBe("10.0.0.5");
  });

  it("builds every document for PUBLIC_URL when it is set, whatever host or header a client sends", () => {
    const env = { PUBLIC_URL: "https://dl.example.com/" };
    expect(base(request("http://127.0.0.1:8787/api/v1/remote/pypi/simple/"), env)).toBe("https://dl.example.com/api/v1/remote/pypi");
    expect(base(request("http://random-123.example/api/v1/remote/pypi/simple/", { "x-forwarded-host": "x.example" }), env)).toBe(
      "https://dl.example.com/api/v1/remote/pypi",
    );
    expect(() => base(request("http://127.0.0.1/api/v1/remote/pypi/simple/"), { PUBLIC_URL: "ftp://x" })).toThrow(/PUBLIC_URL/);
  });

  it("serves a mapped hostname at its root", () => {
    expect(base(request("https://pypi.example.com/api/v1/remote/pypi/simple/"))).toBe("https://pypi.example.com");
    expect(base(request("http://10.0.0.5/api/v1/remote/pypi/simple/", { "x-forwarded-host": "pypi.example.com" }), { TRUST_FORWARDED: "1" })).toBe(
      "http://pypi.example.com",
    );
    expect(base(request("http://pypi.example.com/api/v1/remote/pypi/simple/"), { PUBLIC_URL: "https://dl.example.com" })).toBe("https://pypi.example.com");
  });

  it("ignores forwarded values that are not a scheme or a host name", () => {
    const forged = request("http://127.0.0.1:8787/api/v1/remote/pypi/simple/", { "x-forwarded-proto": "javascript", "x-forwarded-host": 'evil.com/"><script>' });
    expect(base(forged, { TRUST_FORWARDED: "true" })).toBe("http://127.0.0.1:8787/api/v1/remote/pypi");
  });
});
