import type { Context } from "hono";
import type { z } from "zod";
import { jsonError } from "../../errors.ts";

/** Describes zod issues as `key: problem; …` for a 400 answer. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; ");
}

/** The request's JSON body validated by `schema`, or the 400 answer explaining why not. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S> | Response> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return jsonError(400, "BAD_JSON", "the request body must be a JSON document");
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : jsonError(400, "INVALID_BODY", describeIssues(parsed.error));
}

/** The query string validated by `schema`, or the 400 answer. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> | Response {
  const parsed = schema.safeParse(c.req.query());
  return parsed.success ? parsed.data : jsonError(400, "INVALID_QUERY", describeIssues(parsed.error));
}
