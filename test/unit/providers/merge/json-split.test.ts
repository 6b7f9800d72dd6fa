import { describe, expect, it } from "vitest";
import { JsonObjectSplitter } from "../../../../providers/merge/json-split.ts";
import { awkwardSplits } from "../context.ts";

type Event = ["field", string, string] | ["child", string, string | null, string];

function split(pieces: readonly string[], keys: string[] = ["versions", "files"]): Event[] {
  const events: Event[] = [];
  const splitter = new JsonObjectSplitter(keys, {
    field: (key, raw) => events.push(["field", key, raw]),
    child: (parent, key, raw) => events.push(["child", parent, key, raw]),
  });
  for (const piece of pieces) splitter.write(piece);
  splitter.end();
  return events;
}

const DOCUMENT = ` {"name" : "a\\"b", "versions":{"1.0.0":{"dist":{"tarball":"https://x/\\\\"}, "n":[1,{"}":"]"}]},"2.0.0" : null},
  "files":[{"url":"u"} , "s", -1.5e3, true], "readme":"{[", "count":12, "flag":false, "versions2":[] } `;

describe("splitting a JSON object as it streams", () => {
  it("hands out top-level fields whole and the split keys' members one by one, as written", () => {
    expect(split([DOCUMENT])).toEqual([
      ["field", "name", '"a\\"b"'],
      ["child", "versions", "1.0.0", '{"dist":{"tarball":"https://x/\\\\"}, "n":[1,{"}":"]"}]}'],
      ["child", "versions", "2.0.0", "null"],
      ["child", "files", null, '{"url":"u"}'],
      ["child", "files", null, '"s"'],
      ["child", "files", null, "-1.5e3"],
      ["child", "files", null, "true"],
      ["field", "readme", '"{["'],
      ["field", "count", "12"],
      ["field", "flag", "false"],
      ["field", "versions2", "[]"],
    ]);
  });

  it("gives the same events however the document is cut", () => {
    const whole = split([DOCUMENT]);
    for (const pieces of awkwardSplits(DOCUMENT)) expect(split(pieces)).toEqual(whole);
  });

  it("hands a split key's value whole when it is not a container, and empty containers give no members", () => {
    expect(split(['{"versions":null,"files":[],"x":{}}'])).toEqual([
      ["field", "versions", "null"],
      ["field", "x", "{}"],
    ]);
  });

  it.each([
    ["[]", /not an object/],
    ['{"a":1', /ends early/],
    ['{"a":[1}', /malformed/],
    ['{"a" 1}', /malformed/],
    ['{"a":1,}', /malformed/],
    ['{"a":tru}', /malformed/],
    ['{"a":1} x', /malformed/],
    ['{"versions":{"1":[}}', /malformed/],
  ])("refuses %j", (document, error) => {
    expect(() => split([document])).toThrow(error);
  });
});
