import { expect, it } from "vitest";
import { hotBlob, keepHot } from "../../../functions/proxy/hot-blobs.ts";

it("keeps small blobs by sha256, drops the least recently used past its budget, and never keeps large ones", () => {
  const blob = (i: number) => new Uint8Array(256 * 1024).fill(i);
  for (let i = 0; i < 64; i++) keepHot(`sha-${i}`, blob(i));
  expect(hotBlob("sha-0")?.[0]).toBe(0); // touched: now the most recent
  for (let i = 64; i < 80; i++) keepHot(`sha-${i}`, blob(i));
  expect(hotBlob("sha-0")).toBeDefined();
  expect(hotBlob("sha-1")).toBeUndefined();
  expect(hotBlob("sha-79")?.[0]).toBe(79);

  keepHot("sha-large", new Uint8Array(256 * 1024 + 1));
  expect(hotBlob("sha-large")).toBeUndefined();
});
