import { describe, expect, it } from "vitest";
import { JsonRewriteStream, type JsonFrame } from "../../../providers/json-stream.ts";
import { awkwardSplits } from "./context.ts";

/** Upper-cases every string at `.a[*].b`, and notes the literals and closes it passes. */
function run(pieces: readonly string[]) {
  const seen: string[] = [];
  const path = (frames: readonly JsonFrame[]) => frames.map((frame) => frame.key).join(".");
  const scanner = new JsonRewriteStream({
    start: (frames, kind) => (kind === "string" && /^a\.\d+\.b$/.test(path(frames))) || kind === "literal",
    string: (_frames, value) => value.toUpperCase(),
    literal: (frames, text) => void seen.push(`${path(frames)}=${text}`),
    close: (frames) => void seen.push(`close ${path(frames.slice(0, -1))}`),
  });
  let out = "";
  for (const piece of pieces) out += scanner.write(piece);
  return { out: out + scanner.end(), seen };
}

describe("streaming JSON scanner", () => {
  const document = `{"a": [ {"b": "x\\"y\\\\ \\u00e9", "c": "keep \\"b\\": \\"no\\""}, {"b":"é🙂","n":-1.5e3} ], "b": "top", "t": true, "z": null}`;

  it("replaces only the wanted strings and passes every other byte through, however the text is cut", () => {
    const expected = `{"a": [ {"b": ${JSON.stringify('X"Y\\ É')}, "c": "keep \\"b\\": \\"no\\""}, {"b":"É🙂","n":-1.5e3} ], "b": "top", "t": true, "z": null}`;
    for (const pieces of awkwardSplits(document)) {
      const { out, seen } = run(pieces);
      expect(out).toBe(expected);
      expect(seen).toEqual(["close a.0", "a.1.n=-1.5e3", "close a.1", "close a", "t=true", "z=null", "close "]);
    }
  });

  it("gives a streamed string in pieces as they come, leaves it out as \"\", and holds none of it", () => {
    const data = `${"QUJD".repeat(50)}\\/x\\"y`;
    const doc = `{"k": 1, "_a": {"f.tgz": {"data": "${data}", "n": 2}}, "after": "ok"}`;
    for (const pieces of awkwardSplits(doc)) {
      let raw = "";
      let ends = 0;
      const scanner = new JsonRewriteStream({
        start: (frames, kind) => (kind === "string" && frames.length === 3 && frames[2]!.key === "data" ? "stream" : false),
        piece: (_frames, text, last) => {
          raw += text;
          if (last) ends++;
        },
      });
      let out = "";
      let written = "";
      for (const piece of pieces) {
        out += scanner.write(piece);
        written += piece;
        // Nothing of the string waits in the scanner: every character of it that came was given.
        const inside = written.length - doc.indexOf(data);
        if (inside > 0 && inside <= data.length) expect(raw.length).toBe(inside);
      }
      out += scanner.end();
      expect([raw, ends, JSON.parse(out)]).toEqual([data, 1, { k: 1, _a: { "f.tgz": { data: "", n: 2 } }, after: "ok" }]);
    }
  });

  it("refuses what is not one JSON value", () => {
    for (const bad of ["", "{", '{"a" 1}', "[1,]x", '{"a":1}}', "nope", '"open']) expect(() => run([bad])).toThrow();
  });
});
