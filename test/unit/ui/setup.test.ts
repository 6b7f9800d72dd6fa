import { describe, expect, it } from "vitest";
import { setupSnippets, type Origin, type SetupTarget } from "../../../functions/ui/setup.ts";

const https: Origin = { scheme: "https", host: "proxy.example.com", origin: "https://proxy.example.com" };
const http: Origin = { scheme: "http", host: "127.0.0.1:8000", origin: "http://127.0.0.1:8000" };
const target = (overrides: Partial<SetupTarget>): SetupTarget => ({ name: "repo", type: "remote", package: "generic", private: false, hostnames: [], ...overrides });
const text = (snippets: { id: string; text: string }[], id: string) => snippets.find((snippet) => snippet.id === id)?.text;

describe("Set me up snippets", () => {
  it("point npm at the repository on this host, with a token line only for a private one", () => {
    expect(text(setupSnippets(target({ name: "npmjs", package: "npm" }), https), "npmrc")).toBe("registry=https://proxy.example.com/api/v1/remote/npmjs/\n");
    expect(text(setupSnippets(target({ name: "team", type: "local", package: "npm", private: true }), https), "npmrc")).toBe(
      "registry=https://proxy.example.com/api/v1/local/team/\n//proxy.example.com/api/v1/local/team/:_authToken=<read token>\n",
    );
  });

  it("give pip the simple index, trusting a plain-http host", () => {
    expect(text(setupSnippets(target({ name: "pypi", package: "pypi" }), http), "pip-conf")).toBe("[global]\nindex-url = http://127.0.0.1:8000/api/v1/remote/pypi/simple/\ntrusted-host = 127.0.0.1\n");
  });

  it("name the image with the repository first, or at a mapped hostname's root, and use it as the Docker mirror", () => {
    const plain = setupSnippets(target({ name: "hub", package: "docker" }), https);
    expect(text(plain, "docker-pull")).toContain("docker pull proxy.example.com/hub/library/alpine:3.20");
    const mapped = setupSnippets(target({ name: "hub", package: "docker", hostnames: ["registry.example.com"] }), https);
    expect(text(mapped, "docker-pull")).toContain("docker pull registry.example.com/library/alpine:3.20");
    expect(text(mapped, "daemon-json")).toContain('"registry-mirrors": ["https://registry.example.com"]');
    expect(text(mapped, "hosts-toml")).toContain('[host."https://registry.example.com"]');
  });

  it("cover every other package type with its client's own configuration", () => {
    expect(text(setupSnippets(target({ name: "gomod", package: "goproxy" }), https), "goproxy")).toBe("export GOPROXY=https://proxy.example.com/api/v1/remote/gomod,direct");
    expect(text(setupSnippets(target({ name: "charts", package: "helm" }), https), "helm")).toContain("helm repo add charts https://proxy.example.com/api/v1/remote/charts");
    expect(text(setupSnippets(target({ name: "fedora", package: "rpm" }), https), "dnf-repo")).toContain("baseurl=https://proxy.example.com/api/v1/remote/fedora/");
    expect(text(setupSnippets(target({ name: "alpine", package: "alpine" }), https), "apk")).toContain("https://proxy.example.com/api/v1/remote/alpine/v3.20/main");
    expect(text(setupSnippets(target({ name: "tf", package: "terraform", hostnames: ["tf.example.com"] }), https), "terraform")).toContain('source = "tf.example.com/hashicorp/random"');
    expect(text(setupSnippets(target({ name: "files", private: true }), https), "curl")).toBe('curl -fLO -H "Authorization: Bearer <read token>" https://proxy.example.com/api/v1/remote/files/<path>');
    expect(text(setupSnippets(target({ name: "all", type: "virtual" }), https), "curl")).toContain("/api/v1/virtual/all/<path>");
  });
});
