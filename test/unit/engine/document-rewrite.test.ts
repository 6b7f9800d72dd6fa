import { describe, expect, it } from "vitest";
import { DocumentRefused, rewriteDocument, type DocumentJob } from "../../../functions/proxy/document-rewrite.ts";
import { npm } from "../../../providers/npm.ts";
import { terraform } from "../../../providers/terraform.ts";
import type { Findings } from "../../../providers/types.ts";
import { context } from "../providers/context.ts";

const UPSTREAM = "https://registry.example.org";

/** A packument of `count` versions, sent in small pieces without a Content-Length (chunked). */
function packumentResponse(count: number): Response {
  const versions = Array.from({ length: count }, (_, i) => `"1.0.${i}":{"dist":{"tarball":"${UPSTREAM}/p/-/p-1.0.${i}.tgz","shasum":"${"a".repeat(40)}"}}`);
  const text = `{"name":"p","versions":{${versions.join(",")}}}`;
  const bytes = new TextEncoder().encode(text);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let at = 0; at < bytes.length; at += 333) controller.enqueue(bytes.subarray(at, at + 333));
      controller.close();
    },
  });
  return new Response(body, { headers: { "content-type": "application/json" } });
}

function job(overrides: Partial<DocumentJob> & { recorded?: Findings[] }): DocumentJob {
  const recorded = overrides.recorded ?? [];
  return {
    rewriter: npm.rewriter!,
    ctx: context("p", { upstreamBase: UPSTREAM }),
    maxDocumentSize: 1 << 20,
    record: async (findings) => void recorded.push(findings),
    ...overrides,
  };
}

describe("rewriting a document on its way into the cache", () => {
  it("streams the rewritten text and records every digest, in batches, before the body ends", async () => {
    const recorded: Findings[] = [];
    let ended = false;
    const { body } = rewriteDocument(packumentResponse(2_500), job({ recorded }));
    const text = await new Response(body.pipeThrough(new TransformStream({ flush: () => void (ended = true) }))).text();
    expect(ended).toBe(true);
    expect(JSON.parse(text).versions["1.0.2499"].dist.tarball).toBe("https://dl.example.com/api/v1/remote/r/p/-/p-1.0.2499.tgz");
    expect(recorded.length).toBeGreaterThan(1);
    expect(recorded.reduce((sum, batch) => sum + batch.digests.size, 0)).toBe(2_500);
  });

  it("fails the body when recording fails, so the document is never committed", async () => {
    const { body } = rewriteDocument(packumentResponse(10), job({ record: async () => Promise.reject(new Error("state store down")) }));
    await expect(new Response(body).text()).rejects.toThrow("state store down");
  });

  it("refuses a document it cannot rewrite with UPSTREAM_BAD_DOCUMENT", async () => {
    const { body } = rewriteDocument(new Response("<html>maintenance</html>"), job({}));
    await expect(new Response(body).text()).rejects.toMatchObject({ code: "UPSTREAM_BAD_DOCUMENT" });
  });

  it("refuses a whole-document type above max_document_size: at once by Content-Length, else as it streams", async () => {
    const download = JSON.stringify({ download_url: `${UPSTREAM}/x.zip`, padding: "x".repeat(500) });
    const whole = { rewriter: terraform.rewriter!, ctx: context("v1/providers/a/b/1.0.0/download/linux/amd64", { upstreamBase: UPSTREAM }), maxDocumentSize: 100 };
    let error: unknown;
    try {
      rewriteDocument(new Response(download, { headers: { "content-length": String(download.length) } }), job(whole));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DocumentRefused);
    expect(error).toMatchObject({ code: "DOCUMENT_TOO_LARGE", message: expect.stringContaining("max_document_size (100 bytes)") });
    const chunked = rewriteDocument(new Response(new Blob([download]).stream()), job(whole));
    await expect(new Response(chunked.body).text()).rejects.toMatchObject({ code: "DOCUMENT_TOO_LARGE" });
    // A streaming type has no such limit: its memory does not grow with the document.
    const big = rewriteDocument(packumentResponse(50), job({ maxDocumentSize: 100 }));
    expect((await new Response(big.body).text()).length).toBeGreaterThan(100);
  });
});
