/**
 * Expands shell-style braces in a prefetch pattern: `pkg-{1.0,1.1}.tgz`, `v{1..3}/a.bin`
 * (nested groups too). Upstreams cannot be listed, so a pattern names its paths this way.
 * Throws past `max` results. Expansion is lazy, one path at a time, so `{1..999999999}` or a
 * long product of groups stops at the limit instead of building every path first.
 */
export function expandBraces(pattern: string, max: number): string[] {
  const out: string[] = [];
  for (const path of expansions(pattern)) {
    if (out.length === max) throw new Error(`the pattern expands to more than ${max} paths`);
    out.push(path);
  }
  return out;
}

function* expansions(pattern: string): Generator<string> {
  const open = pattern.indexOf("{");
  if (open < 0) {
    yield pattern;
    return;
  }
  const close = matchingBrace(pattern, open);
  if (close < 0) throw new Error(`unbalanced '{' in pattern`);
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  for (const alternative of alternatives(pattern.slice(open + 1, close))) yield* expansions(head + alternative + tail);
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
function* alternatives(body: string): Generator<string> {
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    const step = from <= to ? 1 : -1;
    for (let n = from; step > 0 ? n <= to : n >= to; n += step) yield String(n);
    return;
  }
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "{") depth++;
    else if (body[i] === "}") depth--;
    else if (body[i] === "," && depth === 0) {
      yield body.slice(start, i);
      start = i + 1;
    }
  }
  yield body.slice(start);
}
