import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, notFound: 4, unreachable: 5 } as const;

/** An error that ends the command with a message and a specific exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export interface ClientOptions {
  endpoint: string;
  token?: string;
}

/** The management API over fetch; every non-2xx answer becomes a CliError with the API's message. */
export class ApiClient {
  readonly #endpoint: string;
  readonly #token: string | undefined;

  constructor(options: ClientOptions) {
    this.#endpoint = options.endpoint.replace(/\/+$/, "");
    this.#token = options.token;
  }

  async request<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.raw(method, path, body);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** The response whatever its status (health answers 503 with a report); only an unreachable endpoint throws. */
  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const all: Record<string, string> = { ...headers };
    // The API refuses writes without this type (415), so a forged cross-site form cannot write.
    if (body !== undefined) all["content-type"] = "application/json";
    return this.#fetch(`/api/v2${path}`, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  /** The response as it came (for streams); errors already turned into CliError. */
  async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return okOrThrow(await this.send(method, path, body, headers));
  }

  /**
   * PUTs a file to a local repository, streamed from disk (never read whole), with its sha256
   * (read once before, also streaming) as X-Checksum-Sha256 so the server refuses damaged bytes.
   * The body waits for `100 Continue`, as curl's does: a refusal (401, 403, 409, 413) comes back
   * before a byte of it is sent, rather than as a connection the server closed mid-body.
   */
  async upload<T = any>(local: string, path: string, file: string): Promise<T> {
    const { size } = await stat(file).catch((error: Error) => {
      throw new CliError(`${file}: ${error.message}`, EXIT.usage);
    });
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const target = new URL(`${this.#endpoint}/api/v1/local/${encodeURIComponent(local)}/${path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/")}`);
    const headers: Record<string, string> = { accept: "application/json", "content-length": String(size), "x-checksum-sha256": hash.digest("hex"), expect: "100-continue" };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const response = await putWithContinue(target, headers, file).catch((error: Error) => {
      throw new CliError(`cannot reach ${this.#endpoint}: ${error.message}`, EXIT.unreachable);
    });
    return (await (await okOrThrow(response)).json()) as T;
  }

  async #fetch(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has("accept")) headers.set("accept", "application/json");
    if (this.#token) headers.set("authorization", `Bearer ${this.#token}`);
    try {
      return await fetch(`${this.#endpoint}${path}`, { ...init, headers });
    } catch (error) {
      throw new CliError(`cannot reach ${this.#endpoint}: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`, EXIT.unreachable);
    }
  }
}

/** How long to wait for `100 Continue` before sending the body anyway (curl waits 1 s too). */
const CONTINUE_WAIT_MS = 1_000;

/** A PUT over node:http(s) that sends the file once the server says continue (or does not answer in time). */
function putWithContinue(url: URL, headers: Record<string, string>, file: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, { method: "PUT", headers });
    let sending = false;
    const send = () => {
      if (sending) return;
      sending = true;
      createReadStream(file).on("error", (error) => request.destroy(error)).pipe(request);
    };
    const timer = setTimeout(send, CONTINUE_WAIT_MS);
    request.on("continue", send);
    request.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.on("response", (answer) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("end", () => {
        // Answered before the body was sent: it never will be.
        if (!sending) request.destroy();
        const received = Object.entries(answer.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)] as [string, string]]));
        resolve(new Response(Buffer.concat(chunks), { status: answer.statusCode ?? 502, headers: received }));
      });
      answer.on("error", reject);
    });
  });
}

/** The response when it succeeded; otherwise a CliError with the API's message and the exit code for its status. */
async function okOrThrow(response: Response): Promise<Response> {
  if (response.ok) return response;
  const text = await response.text();
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error) message = `${parsed.error.code}: ${parsed.error.message}`;
  } catch {
    // Not the API's JSON error (a proxy in between): show the text as it is.
  }
  const code = response.status === 401 || response.status === 403 ? EXIT.auth : response.status === 404 ? EXIT.notFound : EXIT.failed;
  throw new CliError(`${response.status} ${message}`, code);
}

export interface ServerEvent {
  id: string;
  event: string;
  data: string;
}

/** Parses a Server-Sent Events body into events as they arrive. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  let buffer = "";
  for await (const chunk of body.pipeThrough(new TextDecoderStream()) as unknown as AsyncIterable<string>) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: ServerEvent = { id: "", event: "message", data: "" };
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const [field, value] = [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, "")];
        if (field === "id") event.id = value;
        else if (field === "event") event.event = value;
        else if (field === "data") event.data += value;
      }
      if (event.data) yield event;
    }
  }
}
