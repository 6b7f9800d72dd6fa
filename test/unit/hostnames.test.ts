import { expect, it } from "vitest";
import { parseRemote } from "../../functions/config/schema.ts";
import { canonicalPath } from "../../functions/hostnames.ts";

const files = parseRemote("dl", { base_url: "https://downloads.example.org", hostnames: ["dl.example.com"] });
const hub = parseRemote("hub", { base_url: "https://registry-1.docker.io", package: "docker", hostnames: ["registry.example.com"] });

it("maps a host's root to its remote, and leaves health, the management API and (when asked) the web UI alone", () => {
  expect(canonicalPath(files, "/tool/1.0/tool.tgz")).toBe("/api/v1/remote/dl/tool/1.0/tool.tgz");
  expect(canonicalPath(files, "/health")).toBeNull();
  expect(canonicalPath(files, "/api/v2/remotes")).toBeNull();
  expect(canonicalPath(files, "/ui/browse")).toBe("/api/v1/remote/dl/ui/browse");
  expect(canonicalPath(files, "/ui/browse", { ui: true })).toBeNull();
  expect(canonicalPath(files, "/ui", { ui: true })).toBeNull();
  expect(canonicalPath(hub, "/v2/library/alpine/manifests/3.20")).toBe("/v2/hub/library/alpine/manifests/3.20");
  expect(canonicalPath(hub, "/v2/")).toBeNull();
});
