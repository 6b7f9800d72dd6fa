import { describe, expect, it } from "vitest";
import { decodeModulePath, encodeModulePath, goproxy } from "../../../providers/goproxy.ts";

describe("goproxy", () => {
  it("encodes upper-case letters as ! + lower case, and back", () => {
    expect(encodeModulePath("github.com/Azure/azure-sdk-for-go")).toBe("github.com/!azure/azure-sdk-for-go");
    expect(decodeModulePath("github.com/!azure/azure-sdk-for-go")).toBe("github.com/Azure/azure-sdk-for-go");
    expect(decodeModulePath("github.com/BurntSushi/toml")).toBeNull();
    expect(decodeModulePath("github.com/!1/x")).toBeNull();
  });

  it.each([
    ["github.com/!burnt!sushi/toml/@v/list", "mutable"],
    ["github.com/!burnt!sushi/toml/@latest", "mutable"],
    ["github.com/!burnt!sushi/toml/@v/v1.3.2.info", "immutable"],
    ["github.com/!burnt!sushi/toml/@v/v1.3.2.mod", "immutable"],
    ["github.com/!burnt!sushi/toml/@v/v1.3.2.zip", "immutable"],
    ["golang.org/x/text/@v/v0.0.0-20170915032832-14c0d48ead0c.zip", "immutable"],
    ["github.com/docker/docker/@v/v20.10.0+incompatible.mod", "immutable"],
    ["github.com/!burnt!sushi/toml/@v/master.info", "mutable"],
    ["github.com/!burnt!sushi/toml/@v/master.zip", "denied"],
    ["github.com/BurntSushi/toml/@v/list", "denied"],
    ["sumdb/sum.golang.org/supported", "mutable"],
    ["sumdb/sum.golang.org/latest", "mutable"],
    ["sumdb/sum.golang.org/lookup/golang.org/x/text@v0.3.0", "immutable"],
    ["sumdb/sum.golang.org/tile/8/0/001.p/5", "immutable"],
    ["github.com/!burnt!sushi/toml", "denied"],
  ])("classifies %s as %s", (path, kind) => {
    expect(goproxy.classify(path).kind).toBe(kind);
  });
});
