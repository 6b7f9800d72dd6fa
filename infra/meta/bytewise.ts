/**
 * The first string after every string that starts with `prefix`, in bytewise (UTF-8) order:
 * the prefix with its last character incremented. Null for "" (no bound) or when the last
 * character cannot be incremented (the starts_with filter alone then decides).
 */
export function prefixUpperBound(prefix: string): string | null {
  const characters = [...prefix];
  const last = characters.pop()?.codePointAt(0);
  if (last === undefined || last === 0x10ffff || last === 0xd7ff) return null;
  return characters.join("") + String.fromCodePoint(last + 1);
}
