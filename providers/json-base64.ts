import { Buffer } from "node:buffer";

/** The text is not base64 (or not as a JSON string can carry it). */
export class Base64Error extends Error {}

const ALPHABET = /^[A-Za-z0-9+/]*$/;

/**
 * Decodes base64 that arrives in pieces as a JSON string's raw text (JsonRewriteStream's
 * streamed strings): `\/`, the one escape base64 text may have in JSON, is undone even when a
 * piece ends between its two characters, and a group of four characters cut between pieces is
 * kept for the next one. Padding is optional, as Node's decoder (what npm's registries use)
 * allows; anything else is refused.
 */
export class Base64Pieces {
  /** Characters of an unfinished group of four (at most three). */
  #pending = "";
  /** The previous piece ended with a backslash. */
  #escape = false;
  /** `=` seen: only more `=` may follow, up to two in all. */
  #padding = 0;

  /** The bytes of the complete groups so far. */
  push(raw: string): Uint8Array {
    const text = this.#pending + this.#unescape(raw);
    const padded = /=+$/.exec(text)?.[0].length ?? 0;
    const data = text.slice(0, text.length - padded);
    if (!ALPHABET.test(data)) throw new Base64Error("the attachment's data is not base64");
    if (this.#padding > 0 && data !== "") throw new Base64Error("the attachment's base64 data goes on after its padding");
    this.#padding += padded;
    if (this.#padding > 2) throw new Base64Error("the attachment's base64 data has too much padding");
    if (padded > 0) {
      // Padding closes the last group: it is decoded now.
      if (data.length % 4 === 1) throw new Base64Error("the attachment's base64 data is cut short");
      this.#pending = "";
      return decode(data);
    }
    const whole = data.length - (data.length % 4);
    this.#pending = data.slice(whole);
    return decode(data.slice(0, whole));
  }

  /** The last group's bytes; refuses a string that ends cut (one character of a group, half an escape). */
  end(): Uint8Array {
    if (this.#escape) throw new Base64Error("the attachment's data ends in a backslash");
    if (this.#pending.length === 1) throw new Base64Error("the attachment's base64 data is cut short");
    const bytes = decode(this.#pending);
    this.#pending = "";
    return bytes;
  }

  #unescape(raw: string): string {
    let text = this.#escape ? `\\${raw}` : raw;
    this.#escape = false;
    if (!text.includes("\\")) return text;
    const trailing = text.length - text.replace(/\\+$/, "").length;
    if (trailing % 2 === 1) {
      text = text.slice(0, -1);
      this.#escape = true;
    }
    const unescaped = text.replace(/\\\//g, "/");
    if (unescaped.includes("\\")) throw new Base64Error("the attachment's data is not base64 (it has an escape other than \\/)");
    return unescaped;
  }
}

function decode(text: string): Uint8Array {
  return text === "" ? new Uint8Array(0) : Buffer.from(text, "base64");
}
