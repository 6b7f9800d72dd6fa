/**
 * Content negotiation for index endpoints whose body depends on `Accept` (PyPI HTML vs JSON,
 * npm full vs abbreviated packuments).
 */

interface MediaRange {
  type: string;
  q: number;
}

function parse(accept: string): MediaRange[] {
  return accept.split(",").flatMap((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (!type) return [];
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    return [{ type, q: Number.isFinite(q) ? q : 0 }];
  });
}

/** The quality the header gives a media type, from its most specific matching range (RFC 9110). */
export function quality(accept: string | null, mediaType: string): number {
  if (accept === null || accept.trim() === "") return 1;
  const ranges = parse(accept);
  const wildcard = `${mediaType.split("/")[0]}/*`;
  for (const candidate of [mediaType, wildcard, "*/*"]) {
    const range = ranges.find((r) => r.type === candidate);
    if (range) return range.q;
  }
  return 0;
}

/** Whether the client ranks one of `wanted` strictly above all `others` (ties keep the default). */
export function prefers(accept: string | null, wanted: readonly string[], others: readonly string[]): boolean {
  const best = (types: readonly string[]) => Math.max(0, ...types.map((t) => quality(accept, t)));
  return best(wanted) > best(others);
}
