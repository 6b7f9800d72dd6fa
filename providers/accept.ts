/**
 * Content negotiation for index endpoints whose body depends on `Accept` (PyPI HTML vs JSON,
 * npm full vs abbreviated packuments), read as RFC 9110 §12.5.1 describes it.
 */

interface MediaRange {
  type: string;
  subtype: string;
  /** Quality in thousandths (0–1000), so comparisons are exact. */
  q: number;
}

/** qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Splits on a separator outside quoted strings (a parameter value may be `"a,b;c"`).
 */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted && char === "\\") i++;
    else if (char === '"') quoted = !quoted;
    else if (!quoted && char === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * The header's media ranges. Whitespace around `;` and `=` is tolerated (RFC 9110 allows it
 * around `;`; around `=` it is a common client mistake, read the way the client meant it).
 * A range with a malformed type or q-value is ignored, as if the client had not sent it.
 */
function parse(accept: string): MediaRange[] {
  return splitOutsideQuotes(accept, ",").flatMap((part) => {
    const [range = "", ...params] = splitOutsideQuotes(part, ";").map((s) => s.trim());
    const [type = "", subtype = "", ...extra] = range.toLowerCase().split("/");
    if (extra.length > 0 || !TOKEN.test(type) || !TOKEN.test(subtype) || (type === "*" && subtype !== "*")) return [];
    let q = 1000;
    for (const param of params) {
      if (param === "") continue;
      const equals = param.indexOf("=");
      if (equals <= 0) return [];
      const name = param.slice(0, equals).trim().toLowerCase();
      const value = param.slice(equals + 1).trim();
      // Parameters after q are accept extensions (RFC 7231), not part of the media range.
      if (name === "q") {
        if (!QVALUE.test(value)) return [];
        q = Math.round(Number(value) * 1000);
        break;
      }
    }
    return [{ type, subtype, q }];
  });
}

/**
 * How specifically a range matches a media type: -1 = not at all; more = more specific
 * (RFC 9110 §12.5.1). Other media-type parameters (`charset`) do not change the match: the
 * proxy's representations carry none that a client could ask apart.
 */
function specificity(range: MediaRange, type: string, subtype: string): number {
  if (range.type === "*") return 0;
  if (range.type !== type) return -1;
  if (range.subtype === "*") return 1;
  if (range.subtype !== subtype) return -1;
  return 2;
}

/** The quality (0–1) the header gives a media type, from its most specific matching range. */
export function quality(accept: string | null, mediaType: string): number {
  const ranges = accept === null ? [] : parse(accept);
  // No header, or nothing usable in it: every type is acceptable (RFC 9110 §12.5.1).
  if (ranges.length === 0) return 1;
  const [type = "", subtype = ""] = mediaType.toLowerCase().split("/");
  let best: MediaRange | null = null;
  let bestSpecificity = -1;
  for (const range of ranges) {
    const s = specificity(range, type, subtype);
    if (s > bestSpecificity) {
      best = range;
      bestSpecificity = s;
    }
  }
  return best ? best.q / 1000 : 0;
}

/**
 * Whether the client ranks one of `wanted` strictly above all `others`. On a tie the server
 * picks (RFC 9110 leaves equal qualities to it): the default form, so ties return false.
 */
export function prefers(accept: string | null, wanted: readonly string[], others: readonly string[]): boolean {
  const best = (types: readonly string[]) => Math.max(0, ...types.map((t) => quality(accept, t)));
  return best(wanted) > best(others);
}
