import { describe, expect, it } from "vitest";
import { urlParts } from "../../functions/request-url.ts";

describe("urlParts", () => {
  // Each as a runtime serializes a request's URL; urlParts must agree with URL on every one.
  const urls = [
    "http://127.0.0.1:8787/api/v1/remote/npm/@scope%2fpkg",
    "https://dl.example.com/api/v1/remote/pypi/simple/?format=json",
    "http://[::1]:8000/v2/library/alpine/manifests/latest",
    "http://localhost/",
    "http://localhost/?",
    "http://example.com/a%20b/c?x=1&y=%2F#frag",
    "http://example.com/path#only-hash",
    "https://example.com:8443/ui/",
  ];
  for (const url of urls) {
    it(`reads ${url} as URL does`, () => {
      const parsed = new URL(url);
      expect(urlParts(new Request(url).url)).toEqual({ https: parsed.protocol === "https:", host: parsed.host, path: parsed.pathname, search: parsed.search });
    });
  }
});
