import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the proxy answers with: `{ "error": { "code", "message" } }`. */
export function jsonError(status: ContentfulStatusCode, code: string, message: string, headers?: HeadersInit): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}
