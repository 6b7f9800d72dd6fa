import { ClosingQuote } from "../json-stream.ts";

/**
 * Splits a JSON document whose top level is an object into its fields, as raw text, in pieces:
 * each top-level value arrives whole, except the values of the `split` keys (npm's `versions`,
 * PEP 691's `files`), whose members arrive one by one. Memory is bounded by the largest single
 * value handed out, not by the document. Values are handed out as they were written (no
 * re-serialisation), checked for well-formed nesting (the member's own rewrite checked the rest).
 */

export interface SplitVisitor {
  /** A top-level field's whole value (for a split key whose value is not an object or array, too). */
  field(key: string, raw: string): void;
  /** One member of a split key's object (with its key) or array (key null). */
  child(parent: string, key: string | null, raw: string): void;
}

// Plain constants, not enums: Node runs these modules with type stripping only.
const Expect = { Document: 0, KeyOrEnd: 1, Key: 2, Colon: 3, Value: 4, ValueOrEnd: 5, After: 6, Done: 7 } as const;
type Expect = (typeof Expect)[keyof typeof Expect];
const Capture = { None: 0, Key: 1, String: 2, Literal: 3, Container: 4 } as const;
type Capture = (typeof Capture)[keyof typeof Capture];

const QUOTE = 0x22;
const LITERAL = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)$/;

const isWhitespace = (code: number) => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
/** `{` → `}`, `[` → `]` (their codes differ by 2). */
const closerOf = (open: number) => open + 2;

export class JsonObjectSplitter {
  readonly #split: ReadonlySet<string>;
  readonly #visitor: SplitVisitor;
  #expect: Expect = Expect.Document;
  /** Inside a split key's container (its members are the values read), or at the document's top level. */
  #parent: { key: string; array: boolean } | null = null;
  #key: string | null = null;
  #capture: Capture = Capture.None;
  /** Text of the capture from earlier pieces. */
  #chunks: string[] = [];
  /** Closers expected inside a captured container, innermost last. */
  #closers: number[] = [];
  #inString = false;
  readonly #quotes = new ClosingQuote();

  constructor(split: Iterable<string>, visitor: SplitVisitor) {
    this.#split = new Set(split);
    this.#visitor = visitor;
  }

  write(text: string): void {
    let i = 0;
    let start = 0;
    while (i < text.length) {
      if (this.#capture !== Capture.None) {
        const end = this.#scanCapture(text, i);
        if (end < 0) break;
        this.#finish(this.#chunks.length === 0 ? text.slice(start, end) : this.#chunks.join("") + text.slice(start, end));
        this.#chunks = [];
        i = end;
        continue;
      }
      const code = text.charCodeAt(i);
      if (isWhitespace(code)) {
        i++;
        continue;
      }
      start = i;
      i = this.#structural(text, i, code);
    }
    if (this.#capture !== Capture.None) this.#chunks.push(text.slice(start));
  }

  end(): void {
    if (this.#capture === Capture.Literal) {
      const raw = this.#chunks.join("");
      this.#chunks = [];
      this.#finish(raw);
    }
    if (this.#capture !== Capture.None || this.#expect !== Expect.Done) throw new Error("the JSON document ends early");
  }

  /** One token outside any capture; returns where scanning goes on. */
  #structural(text: string, i: number, code: number): number {
    switch (this.#expect) {
      case Expect.Document:
        if (code !== 0x7b) throw new Error("the JSON document is not an object");
        this.#expect = Expect.KeyOrEnd;
        return i + 1;
      case Expect.KeyOrEnd:
      case Expect.ValueOrEnd: {
        const array = this.#expect === Expect.ValueOrEnd;
        if (code === (array ? 0x5d : 0x7d)) return this.#closeLevel(i);
        this.#expect = array ? Expect.Value : Expect.Key;
        return i;
      }
      case Expect.Key:
        if (code !== QUOTE) throw syntaxError(text[i]!);
        this.#capture = Capture.Key;
        this.#inString = true;
        return i + 1;
      case Expect.Colon:
        if (code !== 0x3a) throw syntaxError(text[i]!);
        this.#expect = Expect.Value;
        return i + 1;
      case Expect.Value:
        if (this.#parent === null && this.#split.has(this.#key!) && (code === 0x7b || code === 0x5b)) {
          this.#parent = { key: this.#key!, array: code === 0x5b };
          this.#key = null;
          this.#expect = code === 0x5b ? Expect.ValueOrEnd : Expect.KeyOrEnd;
          return i + 1;
        }
        if (code === QUOTE) {
          this.#capture = Capture.String;
          this.#inString = true;
          return i + 1;
        }
        if (code === 0x7b || code === 0x5b) {
          this.#capture = Capture.Container;
          this.#closers = [closerOf(code)];
          return i + 1;
        }
        this.#capture = Capture.Literal;
        return i;
      case Expect.After: {
        const array = this.#parent?.array === true;
        if (code === 0x2c) {
          this.#expect = array ? Expect.Value : Expect.Key;
          return i + 1;
        }
        if (code === (array ? 0x5d : 0x7d)) return this.#closeLevel(i);
        throw syntaxError(text[i]!);
      }
      case Expect.Done:
        throw syntaxError(text[i]!);
    }
    throw new Error("unreachable");
  }

  /** The split container or the document closes at `i`. */
  #closeLevel(i: number): number {
    if (this.#parent) {
      this.#key = this.#parent.key;
      this.#parent = null;
      this.#expect = Expect.After;
    } else {
      this.#expect = Expect.Done;
    }
    return i + 1;
  }

  /** Scans the capture on from `i`; returns the index just past its end, or -1 when the piece ends first. */
  #scanCapture(text: string, i: number): number {
    if (this.#capture === Capture.Literal) {
      for (; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (isWhitespace(code) || code === 0x2c || code === 0x7d || code === 0x5d) return i;
      }
      return -1;
    }
    const closers = this.#closers;
    for (;;) {
      if (this.#inString) {
        const quote = this.#quotes.find(text, i);
        if (quote < 0) return -1;
        this.#inString = false;
        i = quote + 1;
        if (this.#capture !== Capture.Container) return i;
      }
      // Between strings inside a container: only brackets and the next string's quote matter.
      for (; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code === QUOTE) break;
        if (code === 0x7b || code === 0x5b) closers.push(closerOf(code));
        else if (code === 0x7d || code === 0x5d) {
          if (closers.pop() !== code) throw syntaxError(text[i]!);
          if (closers.length === 0) return i + 1;
        }
      }
      if (i >= text.length) return -1;
      this.#inString = true;
      i++;
    }
  }

  #finish(raw: string): void {
    const capture = this.#capture;
    this.#capture = Capture.None;
    if (capture === Capture.Key) {
      // JSON.parse always makes a new string: a key kept in a Set must not hold the whole piece it was sliced from.
      this.#key = JSON.parse(raw) as string;
      this.#expect = Expect.Colon;
      return;
    }
    if (capture === Capture.Literal && !LITERAL.test(raw)) throw syntaxError(raw.slice(0, 64));
    if (this.#parent) this.#visitor.child(this.#parent.key, this.#parent.array ? null : this.#key, raw);
    else this.#visitor.field(this.#key!, raw);
    this.#expect = Expect.After;
  }
}

function syntaxError(text: string): Error {
  return new Error(`the JSON document is malformed (unexpected ${JSON.stringify(text)})`);
}
