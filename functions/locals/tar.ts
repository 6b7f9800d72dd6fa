/** A chart (or any .tgz) that is not a gzip'd tar archive, or one whose member cannot be read. */
export class ArchiveError extends Error {}

const BLOCK = 512;

/**
 * The first regular file of a gzip'd tar archive whose name `wanted` accepts, read as the
 * archive streams (memory: one block plus that file, at most `maxSize` bytes); null when the
 * archive has none. Understands ustar prefixes, GNU long names and pax `path` records, as Go's
 * archive/tar (what `helm package` uses) writes them. Cancels the rest of the stream once found.
 */
export async function findInTarGz(archive: ReadableStream<Uint8Array>, wanted: (name: string) => boolean, maxSize: number): Promise<{ name: string; bytes: Uint8Array } | null> {
  const reader = new ByteReader(archive.pipeThrough(new DecompressionStream("gzip")).getReader());
  try {
    let longName: string | null = null;
    for (;;) {
      const header = await reader.read(BLOCK);
      if (!header || header.every((byte) => byte === 0)) return null;
      if (!validChecksum(header)) throw new ArchiveError("not a tar archive (bad header checksum)");
      const size = octal(header.subarray(124, 136));
      const type = String.fromCharCode(header[156]!);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === "L" || type === "x") {
        if (size > 64 * 1024) throw new ArchiveError("a tar header record is implausibly large");
        const record = await reader.read(padded);
        if (!record) throw truncated();
        const text = new TextDecoder().decode(record.subarray(0, size));
        longName = type === "L" ? text.replace(/\0.*$/s, "") : (paxPath(text) ?? longName);
        continue;
      }
      const name = longName ?? ustarName(header);
      longName = null;
      if ((type === "0" || type === "\0") && wanted(name)) {
        if (size > maxSize) throw new ArchiveError(`${name} is larger than ${maxSize} bytes`);
        const body = await reader.read(padded);
        if (!body) throw truncated();
        return { name, bytes: body.subarray(0, size) };
      }
      if (!(await reader.skip(padded))) throw truncated();
    }
  } catch (error) {
    if (error instanceof ArchiveError) throw error;
    throw new ArchiveError(`not a gzip'd tar archive (${(error as Error).message})`);
  } finally {
    await reader.cancel();
  }
}

function truncated(): ArchiveError {
  return new ArchiveError("the tar archive ends in the middle of a file");
}

function ustarName(header: Uint8Array): string {
  const text = (from: number, to: number) => new TextDecoder().decode(header.subarray(from, to)).replace(/\0.*$/s, "");
  const name = text(0, 100);
  const magic = text(257, 263);
  const prefix = magic.startsWith("ustar") ? text(345, 500) : "";
  return prefix ? `${prefix}/${name}` : name;
}

/** A pax extended header's `path`, if it has one ("<length> path=<value>\n" records). */
function paxPath(records: string): string | null {
  for (const line of records.split("\n")) {
    const match = /^\d+ path=(.*)$/s.exec(line);
    if (match) return match[1]!;
  }
  return null;
}

function octal(field: Uint8Array): number {
  const text = new TextDecoder().decode(field).replace(/\0.*$/s, "").trim();
  if (!/^[0-7]*$/.test(text)) throw new ArchiveError("not a tar archive (bad size field)");
  return text === "" ? 0 : parseInt(text, 8);
}

/** The header checksum: the sum of its bytes with the checksum field itself counted as spaces. */
function validChecksum(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  const text = new TextDecoder().decode(header.subarray(148, 156)).replace(/\0.*$/s, "").trim();
  return /^[0-7]+$/.test(text) && parseInt(text, 8) === sum;
}

/** Exact-length reads over a stream of chunks of any size. */
class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #done = false;

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  /** The next `length` bytes, or null when the stream ends first. */
  async read(length: number): Promise<Uint8Array | null> {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (!(await this.#fill())) return null;
      const take = Math.min(length - filled, this.#chunk.byteLength);
      out.set(this.#chunk.subarray(0, take), filled);
      this.#chunk = this.#chunk.subarray(take);
      filled += take;
    }
    return out;
  }

  /** Skips `length` bytes without keeping them; false when the stream ends first. */
  async skip(length: number): Promise<boolean> {
    let left = length;
    while (left > 0) {
      if (!(await this.#fill())) return false;
      const take = Math.min(left, this.#chunk.byteLength);
      this.#chunk = this.#chunk.subarray(take);
      left -= take;
    }
    return true;
  }

  async cancel(): Promise<void> {
    if (!this.#done) await this.#reader.cancel().catch(() => {});
  }

  async #fill(): Promise<boolean> {
    while (this.#chunk.byteLength === 0) {
      if (this.#done) return false;
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
    }
    return true;
  }
}
