/**
 * A streaming JSON scanner that passes the document through as it was, byte for byte, except
 * the string values a visitor replaces, and the ones it takes as they stream (left out as `""`).
 * It tracks only where it is (the open containers and their current key or index), never builds
 * the document: memory is bounded by the longest key or wanted string, not by the document.
 * (Streaming parsers on npm decode every token into a value; re-serialising those would rewrite
 * the whole document, numbers and escapes included.)
 */

export interface JsonFrame {
  readonly array: boolean;
  /** The current key (objects) or index (arrays); null before an object's first key. */
  key: string | number | null;
}

export type JsonValueKind = "string" | "literal" | "object" | "array";

export interface JsonVisitor {
  /**
   * A value starts; `frames` are the open containers (the value's path is their keys). Return
   * true to be given a string's value (`string`) or a number/true/false/null's text (`literal`);
   * "stream" to be given a string in pieces as it arrives (`piece`), whatever its length (an npm
   * publish's base64 tarball): the output has `""` in its place.
   */
  start(frames: readonly JsonFrame[], kind: JsonValueKind): boolean | "stream";
  /** A wanted string's value; returns its replacement, or undefined to keep it. */
  string?(frames: readonly JsonFrame[], value: string): string | undefined;
  /**
   * The next piece of a streamed string, as written between its quotes (escapes not decoded, and
   * one may be cut between two pieces); `last` once its closing quote came.
   */
  piece?(frames: readonly JsonFrame[], raw: string, last: boolean): void;
  literal?(frames: readonly JsonFrame[], text: string): void;
  /** A container ends: it is the last of `frames`. */
  close?(frames: readonly JsonFrame[]): void;
}

/** The longest key or wanted string held in memory (a link, a digest): past it the document is refused. */
const MAX_TOKEN = 1 << 20;

// Plain constants, not enums: Node runs these modules with type stripping only.
const State = { Value: 0, ValueOrEnd: 1, KeyOrEnd: 2, Key: 3, Colon: 4, After: 5, Literal: 6, Done: 7 } as const;
type State = (typeof State)[keyof typeof State];
const Role = { Skip: 0, Key: 1, Wanted: 2, Streamed: 3 } as const;
type Role = (typeof Role)[keyof typeof Role];

const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;

function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

function isDelimiter(code: number): boolean {
  return isWhitespace(code) || code === 0x2c || code === 0x7d || code === 0x5d; // , } ]
}

export class JsonRewriteStream {
  readonly #visitor: JsonVisitor;
  readonly #frames: JsonFrame[] = [];
  #state: State = State.Value;
  /** Text not yet written out: a held key or wanted string (from its opening quote), else empty. */
  #held = "";
  #inString: Role | null = null;
  readonly #quotes = new ClosingQuote();
  /** The number, true, false or null being read, and whether the visitor wants it. */
  #literal = "";
  #literalWanted = false;

  constructor(visitor: JsonVisitor) {
    this.#visitor = visitor;
  }

  write(text: string): string {
    const s = this.#held + text;
    // Where scanning resumes: past what was already scanned of a held string.
    let i = this.#held.length;
    let emitFrom = 0;
    let out = "";
    let stringStart = this.#inString === null ? -1 : 0;
    // Where the not yet given part of a streamed string starts (it is never held).
    let streamFrom = 0;
    while (i < s.length) {
      if (this.#inString !== null) {
        const close = this.#quotes.find(s, i);
        if (close < 0) {
          i = s.length;
          break;
        }
        const role = this.#inString;
        this.#inString = null;
        i = close + 1;
        if (role === Role.Streamed) {
          this.#visitor.piece?.(this.#frames, s.slice(streamFrom, close), true);
          emitFrom = i;
          this.#afterValue();
        } else if (role === Role.Key) {
          this.#frames.at(-1)!.key = decodeString(s.slice(stringStart, i));
          this.#state = State.Colon;
        } else {
          if (role === Role.Wanted) {
            const replacement = this.#visitor.string?.(this.#frames, decodeString(s.slice(stringStart, i)));
            if (replacement !== undefined) {
              out += s.slice(emitFrom, stringStart) + JSON.stringify(replacement);
              emitFrom = i;
            }
          }
          this.#afterValue();
        }
        continue;
      }
      const code = s.charCodeAt(i);
      if (this.#state === State.Literal) {
        if (isDelimiter(code)) {
          this.#endLiteral();
          continue;
        }
        this.#literal += s[i];
        if (this.#literal.length > 64) throw syntaxError(this.#literal.slice(0, 64));
        i++;
        continue;
      }
      if (isWhitespace(code)) {
        i++;
        continue;
      }
      switch (this.#state) {
        case State.ValueOrEnd:
        case State.KeyOrEnd: {
          // Just inside `[` or `{`: the container ends at once, or its first value or key starts here.
          const array = this.#state === State.ValueOrEnd;
          if (code === (array ? 0x5d : 0x7d)) {
            this.#close();
            i++;
          } else {
            this.#state = array ? State.Value : State.Key;
          }
          continue;
        }
        case State.Value:
          if (code === 0x7b) {
            this.#visitor.start(this.#frames, "object");
            this.#frames.push({ array: false, key: null });
            this.#state = State.KeyOrEnd;
          } else if (code === 0x5b) {
            this.#visitor.start(this.#frames, "array");
            this.#frames.push({ array: true, key: 0 });
            this.#state = State.ValueOrEnd;
          } else if (code === 0x22) {
            const wanted = this.#visitor.start(this.#frames, "string");
            this.#inString = wanted === "stream" ? Role.Streamed : wanted ? Role.Wanted : Role.Skip;
            stringStart = i;
            if (wanted === "stream") {
              out += `${s.slice(emitFrom, i)}""`;
              emitFrom = i;
              streamFrom = i + 1;
            }
          } else if (code === 0x2d || (code >= 0x30 && code <= 0x39) || code === 0x74 || code === 0x66 || code === 0x6e) {
            this.#literalWanted = this.#visitor.start(this.#frames, "literal") === true;
            this.#state = State.Literal;
            continue;
          } else {
            throw syntaxError(s[i]!);
          }
          i++;
          continue;
        case State.Key:
          if (code !== 0x22) throw syntaxError(s[i]!);
          this.#inString = Role.Key;
          stringStart = i;
          i++;
          continue;
        case State.Colon:
          if (code !== 0x3a) throw syntaxError(s[i]!);
          this.#state = State.Value;
          i++;
          continue;
        case State.After: {
          const top = this.#frames.at(-1)!;
          if (code === 0x2c) {
            if (top.array) {
              top.key = (top.key as number) + 1;
              this.#state = State.Value;
            } else {
              this.#state = State.Key;
            }
          } else if (code === (top.array ? 0x5d : 0x7d)) {
            this.#close();
          } else {
            throw syntaxError(s[i]!);
          }
          i++;
          continue;
        }
        case State.Done:
          throw syntaxError(s[i]!);
      }
    }
    if (this.#inString === Role.Streamed) {
      if (streamFrom < s.length) this.#visitor.piece?.(this.#frames, s.slice(streamFrom), false);
      this.#held = "";
    } else if (this.#inString === Role.Key || this.#inString === Role.Wanted) {
      out += s.slice(emitFrom, stringStart);
      this.#held = s.slice(stringStart);
      if (this.#held.length > MAX_TOKEN) throw new Error(`a JSON string longer than ${MAX_TOKEN} characters where a key or link was expected`);
    } else {
      out += s.slice(emitFrom);
      this.#held = "";
    }
    return out;
  }

  end(): string {
    if (this.#state === State.Literal) this.#endLiteral();
    if (this.#inString !== null || this.#state !== State.Done) throw new Error("the JSON document ends early");
    return "";
  }

  #endLiteral(): void {
    const text = this.#literal;
    this.#literal = "";
    if (!LITERAL.test(text)) throw syntaxError(text);
    if (this.#literalWanted) this.#visitor.literal?.(this.#frames, text);
    this.#afterValue();
  }

  #close(): void {
    this.#visitor.close?.(this.#frames);
    this.#frames.pop();
    this.#afterValue();
  }

  #afterValue(): void {
    this.#state = this.#frames.length === 0 ? State.Done : State.After;
  }
}

/**
 * Finds the quote that closes a JSON string scanned in pieces. Only the backslashes right before a
 * quote decide whether it is escaped, so the scan jumps from quote to quote; the backslashes at
 * the end of a piece are carried over to the next.
 */
export class ClosingQuote {
  /** Backslashes in a row at the end of the string text scanned so far (they may escape a quote in the next piece). */
  #trailingBackslashes = 0;

  /** The index of the quote that closes the string being scanned from `from` on, or -1 when it is still open at the end of `s`. */
  find(s: string, from: number): number {
    let i = from;
    for (;;) {
      const quote = s.indexOf('"', i);
      if (quote < 0) {
        this.#trailingBackslashes = this.#backslashesBefore(s, s.length, from);
        return -1;
      }
      const escaped = this.#backslashesBefore(s, quote, from) % 2 === 1;
      this.#trailingBackslashes = 0;
      if (!escaped) return quote;
      i = quote + 1;
      from = i;
    }
  }

  /** Backslashes in a row ending just before `end`, counting those carried over from earlier pieces when the run reaches `from`. */
  #backslashesBefore(s: string, end: number, from: number): number {
    let count = 0;
    while (end - count > from && s.charCodeAt(end - count - 1) === 0x5c) count++;
    return end - count === from ? count + this.#trailingBackslashes : count;
  }
}

function decodeString(raw: string): string {
  return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
}

function syntaxError(char: string): Error {
  return new Error(`the JSON document is malformed (unexpected ${JSON.stringify(char)})`);
}
