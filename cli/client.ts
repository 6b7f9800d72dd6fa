import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";

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
   */
  async upload<T = any>(local: string, path: string, file: string): Promise<T> {
    const { size } = await stat(file).catch((error: Error) => {
      throw new CliError(`${file}: ${error.message}`, EXIT.usage);
    });
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const target = `/api/v1/local/${encodeURIComponent(local)}/${path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/")}`;
    const response = await this.#fetch(target, {
      method: "PUT",
      headers: { "content-length": String(size), "x-checksum-sha256": hash.digest("hex") },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>,
      duplex: "half",
    } as RequestInit);
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
