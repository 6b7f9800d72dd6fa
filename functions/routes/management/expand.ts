/**
 * Expands shell-style braces in a prefetch pattern: `pkg-{1.0,1.1}.tgz`, `v{1..3}/a.bin`
 * (nested groups too). Upstreams cannot be listed, so a pattern names its paths this way.
 * Throws past `max` results.
 */
export function expandBraces(pattern: string, max: number): string[] {
  const open = pattern.indexOf("{");
  if (open < 0) return [pattern];
  const close = matchingBrace(pattern, open);
  if (close < 0) throw new Error(`unbalanced '{' in pattern`);
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const out: string[] = [];
  for (const alternative of alternatives(pattern.slice(open + 1, close))) {
    for (const expanded of expandBraces(head + alternative + tail, max)) {
      out.push(expanded);
      if (out.length > max) throw new Error(`the pattern expands to more than ${max} paths`);
    }
  }
  return out;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** `a,b,{c,d}` split at top-level commas; `1..3` as a numeric range. */
function alternatives(body: string): string[] {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    const step = from <= to ? 1 : -1;
    return Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => String(from + i * step));
  }
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "{") depth++;
    else if (body[i] === "}") depth--;
    else if (body[i] === "," && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}
