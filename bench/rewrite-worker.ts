/**
 * The streaming rewriter alone inside workerd, for bench/rewrite-bench.ts: fetches the document
 * at `?url=`, rewrites it as the fill would (npm packument), drains the result and reports what
 * it saw. Nothing is stored. `?mode=drain` only drains the fetched body and `?mode=decode` only
 * decodes and re-encodes it: the runtime's own share of the memory and time.
 */
import { rewriteDocument } from "../functions/proxy/document-rewrite.ts";
// wrangler.toml binds FILLS to this class: every entrypoint built with it must export it.
export { FillCoordinator } from "../functions/fills/coordinator.ts";
import { npm } from "../providers/npm.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url).searchParams.get("url")!;
    const started = Date.now();
    const upstream = await fetch(url);
    const mode = new URL(request.url).searchParams.get("mode");
    if (mode === "drain" || mode === "decode") {
      const body = mode === "drain" ? upstream.body! : upstream.body!.pipeThrough(new TextDecoderStream()).pipeThrough(new TextEncoderStream());
      let bytes = 0;
      for await (const chunk of body) bytes += chunk.byteLength;
      return Response.json({ bytes, ms: Date.now() - started });
    }
    const recorded = { digests: 0, links: 0 };
    const document = rewriteDocument(upstream, {
      rewriter: npm.rewriter!,
      ctx: { proxyBase: "https://dl.example.com/api/v1/remote/npm", upstreamBase: new URL(url).origin, path: "big-package", contentType: "application/json" },
      maxDocumentSize: 32 << 20,
      record: async (findings) => {
        recorded.digests += findings.digests.size;
        recorded.links += findings.links.size;
      },
    });
    let bytes = 0;
    let head = "";
    for await (const chunk of document.body) {
      if (bytes === 0) head = new TextDecoder().decode(chunk.subarray(0, 4096));
      bytes += chunk.byteLength;
    }
    const rewritten = head.includes('"tarball":"https://dl.example.com/api/v1/remote/npm/big-package/-/');
    return Response.json({ bytes, rewritten, ...recorded, ms: Date.now() - started });
  },
};
