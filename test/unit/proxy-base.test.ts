import { describe, expect, it } from "vitest";
import { parseRemote } from "../../functions/config/schema.ts";
import { proxyBase } from "../../functions/proxy/proxy-base.ts";

const remote = parseRemote("pypi", { base_url: "https://pypi.org", package: "pypi", hostnames: ["pypi.example.com"] });
const request = (url: string, headers: Record<string, string> = {}) => new Request(url, { headers });

describe("proxy base of a remote, as the client reached it", () => {
  it("uses the request's own scheme and host under the route prefix", () => {
    expect(proxyBase(request("http://127.0.0.1:8787/api/v1/remote/pypi/simple/"), remote, "/api/v1/remote")).toBe("http://127.0.0.1:8787/api/v1/remote/pypi");
    expect(proxyBase(request("http://127.0.0.1:8787/api/pypi/simple/"), remote, "/api")).toBe("http://127.0.0.1:8787/api/pypi");
  });

  it("honours X-Forwarded-Proto and X-Forwarded-Host (first value), so https stays https", () => {
    const behindProxy = request("http://10.0.0.5/api/v1/remote/pypi/simple/", { "x-forwarded-proto": "https, http", "x-forwarded-host": "dl.example.com, lb.internal" });
    expect(proxyBase(behindProxy, remote, "/api/v1/remote")).toBe("https://dl.example.com/api/v1/remote/pypi");
  });

  it("serves a mapped hostname at its root", () => {
    const mapped = request("https://pypi.example.com/api/v1/remote/pypi/simple/", { "x-forwarded-host": "pypi.example.com" });
    expect(proxyBase(mapped, remote, "/api/v1/remote")).toBe("https://pypi.example.com");
  });

  it("ignores forwarded values that are not a scheme or a host name", () => {
    const forged = request("http://127.0.0.1:8787/api/v1/remote/pypi/simple/", { "x-forwarded-proto": "javascript", "x-forwarded-host": 'evil.com/"><script>' });
    expect(proxyBase(forged, remote, "/api/v1/remote")).toBe("http://127.0.0.1:8787/api/v1/remote/pypi");
  });
});
