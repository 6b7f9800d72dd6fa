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
  /**
   * Headers known only once the body has ended (a virtual's merge names the members it went
   * without once it has read them): asked at the body's end, stored and replayed with the rest.
   */
  headersAtEnd?: () => Record<string, string> | undefined;
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
  /** Stores part of what the document declared (called in batches, one at a time); all of it is stored before the body ends. */
  record: (findings: Findings) => Promise<void>;
}

/** Findings kept in memory before they are handed to `record`: a packument with 50,000 versions is not held whole. */
const RECORD_BATCH = 1000;

/**
 * Rewrites an upstream document on its way into the cache. Types with a streaming rewriter
 * (npm, PyPI, Helm) keep only the token being read in memory; the others are read whole, up to
 * max_document_size, and refused above it: at once (thrown) when Content-Length says so, else
 * as the body errors.
 */
export function rewriteDocument(upstream: Response, job: DocumentJob): RewrittenBody {
  const findings = emptyFindings();
  const headers = rewrittenLinkHeaders(job, upstream.headers, findings);
  const declared = Number(upstream.headers.get("content-length") ?? Number.NaN);
  const source = upstream.body ?? new Blob([]).stream();
  if (!job.rewriter.stream && declared > job.maxDocumentSize) {
    void source.cancel();
    throw tooLarge(job);
  }
  const text = (job.rewriter.stream ? source : source.pipeThrough(byteLimit(job))).pipeThrough(new TextDecoderStream());
  const stream = job.rewriter.stream ? job.rewriter.stream(job.ctx) : wholeDocument(job);
  let recorded = Promise.resolve();
  /** Batches handed to `record` and not yet stored. */
  let unrecorded = 0;
  const recordFound = () => {
    const batch = takeFindings([findings, stream.findings]);
    unrecorded++;
    recorded = recorded.then(() => job.record(batch)).finally(() => unrecorded--);
    recorded.catch(() => {}); // awaited in flush; failing there fails the document
  };
  const rewritten = text.pipeThrough(
    new TransformStream<string, string>({
      transform: async (chunk, controller) => {
        emit(controller, () => stream.write(chunk));
        if (stream.findings.digests.size + stream.findings.links.size < RECORD_BATCH) return;
        recordFound();
        // Reading on while the store is slower would pile up findings: at most one batch waits.
        if (unrecorded > 1) await recorded;
      },
      flush: async (controller) => {
        // The last bytes go out only once every link in the document is recorded.
        let tail = "";
        emit(controller, () => (tail = stream.end()), false);
        recordFound();
        await recorded;
        if (tail !== "") controller.enqueue(tail);
      },
    }),
  );
  return { body: rewritten.pipeThrough(new TextEncoderStream()), headers };
}

/** Runs a piece of the rewrite, refusing the document if it throws; `enqueue: false` leaves the text to the caller. */
function emit(controller: TransformStreamDefaultController<string>, produce: () => string, enqueue = true): void {
  let text: string;
  try {
    text = produce();
  } catch (error) {
    throw error instanceof DocumentRefused ? error : new DocumentRefused("UPSTREAM_BAD_DOCUMENT", `the upstream document could not be rewritten (${(error as Error).message})`);
  }
  if (enqueue && text !== "") controller.enqueue(text);
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
      const { body, digests, links } = job.rewriter.whole!(parts.join(""), job.ctx);
      findings = { digests, links };
      return body;
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

function rewrittenLinkHeaders(job: DocumentJob, upstreamHeaders: Headers, findings: Findings): Record<string, string> | undefined {
  const headers = Object.entries(job.rewriter.linkHeaders ?? {}).flatMap(([name, rewrite]) => {
    const value = upstreamHeaders.get(name);
    return value === null ? [] : [[name, rewrite(value, job.ctx, findings)] as const];
  });
  return headers.length > 0 ? Object.fromEntries(headers) : undefined;
}

/** Moves what the rewrite found so far out of its maps, so they start empty again. */
function takeFindings(sources: Findings[]): Findings {
  const taken = emptyFindings();
  for (const source of sources) {
    for (const [key, digest] of source.digests) taken.digests.set(key, digest);
    for (const [key, url] of source.links) taken.links.set(key, url);
    source.digests.clear();
    source.links.clear();
  }
  return taken;
}
