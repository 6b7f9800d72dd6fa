import type { DocumentStream, RewriteContext, Rewritten } from "../../../providers/types.ts";

/** A rewrite context as the proxy builds it for a request behind a TLS-terminating load balancer. */
export function context(path: string, overrides: Partial<RewriteContext> = {}): RewriteContext {
  return {
    proxyBase: "https://dl.example.com/api/v1/remote/r",
    upstreamBase: "https://upstream.example.org",
    path,
    contentType: null,
    ...overrides,
  };
}

/** Runs a streaming rewrite over a document given in pieces. */
export function rewriteInPieces(stream: DocumentStream, pieces: readonly string[]): Rewritten {
  let body = "";
  for (const piece of pieces) body += stream.write(piece);
  body += stream.end();
  return { body, digests: stream.findings.digests, links: stream.findings.links };
}

/** Every way of cutting a document in two, plus one-character pieces: every awkward chunk boundary. */
export function awkwardSplits(document: string): string[][] {
  const splits: string[][] = [[document], [...document]];
  for (let at = 1; at < document.length; at++) splits.push([document.slice(0, at), document.slice(at)]);
  return splits;
}

/** Asserts a streaming rewrite gives the same text and findings however the document is cut. */
export function expectSameInEveryPiece(start: () => DocumentStream, document: string): Rewritten {
  const whole = rewriteInPieces(start(), [document]);
  for (const pieces of awkwardSplits(document)) {
    const result = rewriteInPieces(start(), pieces);
    if (result.body !== whole.body) throw new Error(`different text when cut as ${JSON.stringify(pieces.map((p) => p.length))}`);
    if (JSON.stringify([...result.digests]) !== JSON.stringify([...whole.digests]) || JSON.stringify([...result.links]) !== JSON.stringify([...whole.links])) {
      throw new Error(`different findings when cut as ${JSON.stringify(pieces.map((p) => p.length))}`);
    }
  }
  return whole;
}
