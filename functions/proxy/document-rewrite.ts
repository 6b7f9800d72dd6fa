import { emptyFindings } from "../../providers/links.ts";
import type { DocumentStream, Findings, IndexRewriter, RewriteContext } from "../../providers/types.ts";

/** An index document as stored and served: its links point back at the proxy. */
export interface RewrittenBody {
  /**
   * The rewritten bytes, streamed. The stream ends only after the digests and links the
   * document declares are recorded, so whoever stores it whole can commit it knowing every
   * link in it is fetchable; it errors with DocumentRefused when the document cannot be rewritten.
   */
  body: ReadableStream<Uint8Array>;
  /** Response headers stored and replayed with the document (links rewritten, e.g. X-Terraform-Get). */
  headers?: Record<string, string>;
}

/** Why an upstream document was not rewritten: the fill answers 502 with this code (or serves a stale copy). */
export class DocumentRefused extends Error {
  readonly code: "DOCUMENT_TOO_LARGE" | "UPSTREAM_BAD_DOCUMENT";
  constructor(code: DocumentRefused["code"], message: string) {
    super(message);
    this.code = code;
  }
}

export interface DocumentJob {
  rewriter: IndexRewriter;
  ctx: RewriteContext;
  /** Bytes a whole-document rewrite may hold (the remote's max_document_size); streaming rewrites need no limit. */
  maxDocumentSize: number;
  /** Stores what the document declared; awaited before the body ends. */
  record: (findings: Findings) => Promise<void>;
}

/**
 * Rewrites an upstream document on its way into the cache. Types with a streaming rewriter
 * (npm, PyPI, Helm) keep only the token being read in memory; the others are read whole, up to
 * max_document_size, and refused above it.
 */
export function rewriteDocument(upstream: Response, job: DocumentJob): RewrittenBody {
  const findings = emptyFindings();
  const headers = rewrittenLinkHeaders(job, upstream.headers, findings);
  const declared = Number(upstream.headers.get("content-length") ?? Number.NaN);
  const source = upstream.body ?? new Blob([]).stream();
  if (!job.rewriter.stream && declared > job.maxDocumentSize) {
    void source.cancel();
    return { body: erroring(tooLarge(job)), headers };
  }
  const text = (job.rewriter.stream ? source : source.pipeThrough(byteLimit(job))).pipeThrough(new TextDecoderStream());
  const stream = job.rewriter.stream ? job.rewriter.stream(job.ctx) : wholeDocument(job);
  const rewritten = text.pipeThrough(
    new TransformStream<string, string>({
      transform: (chunk, controller) => emit(controller, () => stream.write(chunk)),
      flush: async (controller) => {
        emit(controller, () => stream.end());
        mergeFindings(findings, stream.findings);
        await job.record(findings);
      },
    }),
  );
  return { body: rewritten.pipeThrough(new TextEncoderStream()), headers };
}

function emit(controller: TransformStreamDefaultController<string>, produce: () => string): void {
  let text: string;
  try {
    text = produce();
  } catch (error) {
    throw error instanceof DocumentRefused ? error : new DocumentRefused("UPSTREAM_BAD_DOCUMENT", `the upstream document could not be rewritten (${(error as Error).message})`);
  }
  if (text !== "") controller.enqueue(text);
}

/** A whole-document rewriter in the streaming shape: it holds the text until the end. */
function wholeDocument(job: DocumentJob): DocumentStream {
  const parts: string[] = [];
  let findings = emptyFindings();
  return {
    get findings() {
      return findings;
    },
    write(text) {
      parts.push(text);
      return "";
    },
    end() {
      const rewritten = job.rewriter.whole!(parts.join(""), job.ctx);
      findings = rewritten;
      return rewritten.body;
    },
  };
}

function byteLimit(job: DocumentJob): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > job.maxDocumentSize) throw tooLarge(job);
      controller.enqueue(chunk);
    },
  });
}

function tooLarge(job: DocumentJob): DocumentRefused {
  return new DocumentRefused(
    "DOCUMENT_TOO_LARGE",
    `the upstream document is larger than max_document_size (${job.maxDocumentSize} bytes); raise the remote's max_document_size to serve it`,
  );
}

function erroring(error: Error): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.error(error) });
}

function rewrittenLinkHeaders(job: DocumentJob, upstreamHeaders: Headers, findings: Findings): Record<string, string> | undefined {
  const headers = Object.entries(job.rewriter.linkHeaders ?? {}).flatMap(([name, rewrite]) => {
    const value = upstreamHeaders.get(name);
    return value === null ? [] : [[name, rewrite(value, job.ctx, findings)] as const];
  });
  return headers.length > 0 ? Object.fromEntries(headers) : undefined;
}

function mergeFindings(into: Findings, from: Findings): void {
  for (const [key, digest] of from.digests) into.digests.set(key, digest);
  for (const [key, url] of from.links) into.links.set(key, url);
}
