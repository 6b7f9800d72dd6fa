import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Base64Pieces } from "../../../providers/json-base64.ts";

/** Decodes `pieces` one after another, as a streamed JSON string gives them. */
function decode(pieces: string[]): Buffer {
  const decoder = new Base64Pieces();
  const parts = pieces.map((piece) => decoder.push(piece));
  return Buffer.concat([...parts, decoder.end()]);
}

/** The text cut at every place into two pieces, and into single characters. */
const cuts = (text: string) => [[...text], ...Array.from({ length: text.length + 1 }, (_, at) => [text.slice(0, at), text.slice(at)])];

describe("base64 of a JSON string, decoded in pieces", () => {
  it("gives the bytes however the text is cut, with or without padding, with \\/ escapes", () => {
    for (const length of [0, 1, 2, 3, 4, 5, 31]) {
      const bytes = randomBytes(length);
      const base64 = bytes.toString("base64");
      for (const text of [base64, base64.replace(/=+$/, ""), base64.replace(/\//g, "\\/")]) {
        for (const pieces of cuts(text)) expect(decode(pieces).equals(bytes)).toBe(true);
      }
    }
  });

  it("refuses what is not base64: other characters and escapes, data after padding, a cut group", () => {
    for (const bad of ["QUJD!", "QU JD", "QQ==QQ==", "QQ===", "QUJDR", "QUJD\\n", "QUJD\\", "QQ\\u0041"]) {
      for (const pieces of cuts(bad)) expect(() => decode(pieces), `${bad} as ${JSON.stringify(pieces)}`).toThrow();
    }
  });
});
