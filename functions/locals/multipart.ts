import { Buffer } from "node:buffer";
import { readAtMost } from "./upload.ts";

/** A multipart/form-data body that does not parse: the boundary never closes, a part has no headers… */
export class MalformedForm extends Error {}

export interface FormPart {
  /** The `name` of its Content-Disposition. */
  name: string;
  /** The `filename`, for a file part. */
  filename: string | null;
  /** Its Content-Type header, if it has one (a browser sends the file's type). */
  contentType: string | null;
  /** Its bytes, read as they arrive: consume (or cancel) it before asking for the next part. */
  body: ReadableStream<Uint8Array>;
}

const MAX_HEADERS = 16 * 1024;
const CRLF_CRLF = Buffer.from("\r\n\r\n");

/** The boundary of a `multipart/form-data; boundary=…` Content-Type, or null. */
export function formBoundary(contentType: string | null): string | null {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]!) : null;
}

/**
 * Reads a multipart/form-data body part by part without holding it (RFC 7578): a file part's
 * bytes stream through as they arrive, so a large upload (twine's `content`) goes straight into
 * the blob store. Only a tail shorter than the delimiter is ever kept back.
 */
export class FormReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** "\r\n--boundary": what ends every part (the body's first delimiter is read as if preceded by CRLF). */
  readonly #delimiter: Buffer;
  #buffer: Buffer = Buffer.from("\r\n");
  #ended = false;
  /** Inside a part's body (false between parts). */
  #inPart = false;
  #finished = false;
  #started = false;
  /** The current part's body was cancelled: next() skips what is left of it. */
  #abandoned = false;

  constructor(body: ReadableStream<Uint8Array>, boundary: string) {
    this.#reader = body.getReader();
    this.#delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /** The next part, or null after the closing delimiter. The previous part's body must have been read to its end. */
  async next(): Promise<FormPart | null> {
    if (this.#inPart && !this.#abandoned) throw new Error("the previous part was not read to its end");
    // A cancelled part is skipped only now, when the next one is wanted (not when a too-large upload is given up).
    while (this.#inPart) await this.#readPart();
    this.#abandoned = false;
    if (this.#finished) return null;
    if (!this.#started) {
      // Whatever precedes the first delimiter (a preamble) is not part of the form.
      this.#started = true;
      this.#inPart = true;
      while ((await this.#readPart()) !== null);
    }
    // After a delimiter: "--" closes the body, CRLF starts a part's headers.
    await this.#fill(2);
    if (this.#buffer.subarray(0, 2).toString() === "--") {
      this.#finished = true;
      await this.cancel();
      return null;
    }
    let end: number;
    while ((end = this.#buffer.indexOf(CRLF_CRLF)) === -1) {
      if (this.#buffer.byteLength > MAX_HEADERS) throw new MalformedForm("a part's headers are too long");
      if (!(await this.#more())) throw new MalformedForm("the form ends inside a part's headers");
    }
    const headers = this.#buffer.subarray(0, end).toString("utf8");
    this.#buffer = this.#buffer.subarray(end + CRLF_CRLF.byteLength);
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers);
    if (!disposition) throw new MalformedForm("a part has no Content-Disposition: form-data header");
    const name = parameter(disposition[1]!, "name");
    if (name === null) throw new MalformedForm("a part has no name");
    this.#inPart = true;
    let pulling: Promise<Uint8Array | null> | null = null;
    const body = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          pulling = this.#readPart();
          const chunk = await pulling;
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: async () => {
          await pulling?.catch(() => {});
          this.#abandoned = true;
        },
      },
      // Nothing is read before the consumer asks: a part never read stays in the stream.
      { highWaterMark: 0 },
    );
    const contentType = /^content-type:\s*(.+?)\s*$/im.exec(headers)?.[1] ?? null;
    return { name, filename: parameter(disposition[1]!, "filename"), contentType, body };
  }

  /** A part read whole as text, up to `limit` bytes (form fields). */
  static async text(part: FormPart, limit: number): Promise<string> {
    const bytes = await readAtMost(part.body, limit);
    if (bytes === null) throw new MalformedForm(`the form field '${part.name}' is longer than ${limit} bytes`);
    return new TextDecoder().decode(bytes);
  }

  /** Reads what is left of the body and drops it: a browser still sending a refused form then gets the answer. */
  async discardRest(): Promise<void> {
    this.#finished = true;
    this.#inPart = false;
    this.#buffer = Buffer.alloc(0);
    while (await this.#more()) this.#buffer = Buffer.alloc(0);
  }

  async cancel(): Promise<void> {
    if (!this.#ended) await this.#reader.cancel().catch(() => {});
    this.#ended = true;
  }

  /** The next bytes of the current part, or null at its delimiter. */
  async #readPart(): Promise<Uint8Array | null> {
    if (!this.#inPart) return null;
    for (;;) {
      const at = this.#buffer.indexOf(this.#delimiter);
      if (at !== -1) {
        const data = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at + this.#delimiter.byteLength);
        this.#inPart = false;
        // The delimiter is consumed: the next pull finds the part ended.
        return data.byteLength > 0 ? new Uint8Array(data) : null;
      }
      // Everything but a tail that could be the start of a delimiter is part data.
      const safe = this.#buffer.byteLength - (this.#delimiter.byteLength - 1);
      if (safe > 0) {
        const data = this.#buffer.subarray(0, safe);
        this.#buffer = this.#buffer.subarray(safe);
        return new Uint8Array(data);
      }
      if (!(await this.#more())) throw new MalformedForm("the form ends inside a part (no closing boundary)");
    }
  }

  async #fill(length: number): Promise<void> {
    while (this.#buffer.byteLength < length) if (!(await this.#more())) throw new MalformedForm("the form ends after a boundary");
  }

  async #more(): Promise<boolean> {
    if (this.#ended) return false;
    const { done, value } = await this.#reader.read();
    if (done) {
      this.#ended = true;
      return false;
    }
    this.#buffer = this.#buffer.byteLength === 0 ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : Buffer.concat([this.#buffer, value]);
    return true;
  }
}

/** A `name="value"` parameter of a Content-Disposition (quoted, as browsers and requests write them). */
function parameter(parameters: string, name: string): string | null {
  const match = new RegExp(`;\\s*${name}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(parameters) ?? new RegExp(`;\\s*${name}=([^;\\s]+)`, "i").exec(parameters);
  // Browsers (and urllib3) escape `"`, CR and LF in a quoted value as %22, %0D and %0A (HTML's form encoding).
  return match ? match[1]!.replace(/\\(.)/g, "$1").replace(/%(22|0D|0A)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : null;
}
