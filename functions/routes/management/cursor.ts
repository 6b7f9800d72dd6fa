import type { z } from "zod";

/** Opaque to clients: the last row of a page as a JSON tuple (keyset pagination, stable under inserts). */
export const encodeCursor = (values: unknown[]): string => btoa(encodeURIComponent(JSON.stringify(values)));

/** The tuple a cursor carries, checked by `schema`; null for anything this server did not hand out. */
export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> | null {
  try {
    const parsed = schema.safeParse(JSON.parse(decodeURIComponent(atob(cursor))));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
