import { localWriteAccess } from "../auth.ts";
import type { LocalRequest } from "./local-type.ts";

/** How a type answers a refusal, in its ecosystem's error shape. */
export type Refuse = (status: 401 | 403, code: string, message: string, headers?: HeadersInit) => Response;

/**
 * The writer, or the 401/403 answer; from the headers only, before any body is read. The 401
 * carries a Basic challenge: clients (npm, twine, pip) send their credentials only after one.
 */
export async function writeAccess(ctx: LocalRequest, refuse: Refuse): Promise<{ writer: string } | { status: number; response: Response }> {
  const access = await localWriteAccess(ctx.local, ctx.env, ctx.request);
  if ("writer" in access) return access;
  const code = access.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN";
  const challenge = access.status === 401 ? { "www-authenticate": `Basic realm="artifactapi ${ctx.local.name}"` } : undefined;
  return { status: access.status, response: refuse(access.status, code, access.message, challenge) };
}
