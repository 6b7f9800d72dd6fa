/**
 * A multipart/form-data body read as it arrives, one part at a time (RFC 7578), so that a file a
 * browser posts streams on to where it is stored instead of being parsed whole into memory (as
 * Hono's parseBody would). Holds at most one chunk of the body and the delimiter's length more.
 */

/** The form is not well-formed multipart, or ended before its closing boundary. */
export class MultipartError extends Error {}

export interface FormPart {
  /** The field's name. */
  name: string;
  /** The file's name as the browser sent it (null for a plain field). */
  filename: string | null;
  contentType: string | null;
  /** The part's bytes; read it to its end (or let next() skip it) before asking for the next part. */
  body: ReadableStream<Uint8Array>;
}

const MAX_PREAMBLE_BYTES = 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CRLF_CRLF = encoder.encode("\r\n\r\n");

/** The boundary of a multipart/form-data Content-Type; null for any other type. */
export function formBoundary(contentType: string | null | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]!) : null;
}

export class MultipartReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** CRLF "--" boundary: what ends every part (the body is read as if it began with a CRLF). */
  readonly #delimiter: Uint8Array;
  #buffer: Uint8Array;
  #state: "start" | "body" | "delimited" | "done" = "start";
  #body: ReadableStream<Uint8Array> | null = null;

  constructor(body: ReadableStream<Uint8Array>, boundary: string) {
    this.#reader = body.getReader();
    this.#delimiter = encoder.encode(`\r\n--${boundary}`);
    this.#buffer = encoder.encode("\r\n");
  }

  /** The next part, its headers read and its body not; null after the closing boundary. */
  async next(): Promise<FormPart | null> {
    if (this.#state === "body") await drain(this.#body!);
    if (this.#state === "start") await this.#skipPreamble();
    if (this.#state === "done") return null;
    while (this.#buffer.byteLength < 2) if (!(await this.#fill())) throw new MultipartError("the form ended after a boundary");
    if (this.#buffer[0] === 0x2d && this.#buffer[1] === 0x2d) {
      this.#state = "done";
      return null;
    }
    let end: number;
    while ((end = indexOf(this.#buffer, CRLF_CRLF)) < 0) {
      if (this.#buffer.byteLength > MAX_HEADER_BYTES) throw new MultipartError("a part's headers are too long");
      if (!(await this.#fill())) throw new MultipartError("the form ended in a part's headers");
    }
    const headers = parseHeaders(decoder.decode(this.#buffer.subarray(0, end)));
    this.#buffer = this.#buffer.subarray(end + CRLF_CRLF.byteLength);
    const disposition = headers.get("content-disposition") ?? "";
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined || !/^form-data\b/i.test(disposition)) throw new MultipartError("a part has no form-data name");
    const filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    this.#state = "body";
    this.#body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.#readBody();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    return {
      name: unescapeName(name),
      filename: filename === undefined ? null : unescapeName(filename),
      contentType: headers.get("content-type") ?? null,
      body: this.#body,
    };
  }

  /** A plain field's value; a longer one is refused. */
  async text(part: FormPart, maxBytes: number): Promise<string> {
    const fieldDecoder = new TextDecoder();
    let text = "";
    let size = 0;
    const reader = part.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.byteLength;
      if (size > maxBytes) throw new MultipartError(`the field '${part.name}' is longer than ${maxBytes} bytes`);
      text += fieldDecoder.decode(read.value, { stream: true });
    }
    reader.releaseLock();
    return text + fieldDecoder.decode();
  }

  /** Reads what is left of the body, keeping nothing (so that a browser still sending gets the answer). */
  async discardRest(): Promise<void> {
    this.#state = "done";
    this.#buffer = new Uint8Array(0);
    while (!(await this.#reader.read()).done);
  }

  cancel(reason?: unknown): Promise<void> {
    this.#state = "done";
    return this.#reader.cancel(reason);
  }

  async #skipPreamble(): Promise<void> {
    let at: number;
    while ((at = indexOf(this.#buffer, this.#delimiter)) < 0) {
      if (this.#buffer.byteLength > MAX_PREAMBLE_BYTES + this.#delimiter.byteLength) throw new MultipartError("the form does not start with its boundary");
      if (!(await this.#fill())) throw new MultipartError("the form has no parts");
    }
    this.#buffer = this.#buffer.subarray(at + this.#delimiter.byteLength);
    this.#state = "delimited";
  }

  /** The next bytes of the current part; null once its closing delimiter is reached. */
  async #readBody(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#state !== "body") return null;
      const at = indexOf(this.#buffer, this.#delimiter);
      if (at >= 0) {
        const data = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at + this.#delimiter.byteLength);
        this.#state = "delimited";
        if (data.byteLength > 0) return data;
        return null;
      }
      // Everything but a tail that could be the start of the delimiter is the part's.
      const safe = this.#buffer.byteLength - (this.#delimiter.byteLength - 1);
      if (safe > 0) {
        const data = this.#buffer.subarray(0, safe);
        this.#buffer = this.#buffer.subarray(safe);
        return data;
      }
      if (!(await this.#fill())) throw new MultipartError("the form ended in the middle of a part (the upload was cut off)");
    }
  }

  async #fill(): Promise<boolean> {
    const { done, value } = await this.#reader.read();
    if (done) return false;
    if (this.#buffer.byteLength === 0) {
      this.#buffer = value;
    } else {
      // What is kept back (in a body, a tail shorter than the delimiter) and the new chunk: a body byte is copied about once.
      const joined = new Uint8Array(this.#buffer.byteLength + value.byteLength);
      joined.set(this.#buffer);
      joined.set(value, this.#buffer.byteLength);
      this.#buffer = joined;
    }
    return true;
  }
}

async function drain(body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  while (!(await reader.read()).done);
  reader.releaseLock();
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** Browsers escape `"`, CR and LF in names as %22, %0D and %0A (HTML's form encoding), nothing else. */
function unescapeName(name: string): string {
  return name.replace(/%(22|0D|0A)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  const last = haystack.byteLength - needle.byteLength;
  for (let i = haystack.indexOf(first); i >= 0 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.byteLength && haystack[i + j] === needle[j]) j++;
    if (j === needle.byteLength) return i;
  }
  return -1;
}
