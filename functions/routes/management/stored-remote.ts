import type { Context } from "hono";
import type { AppEnv } from "../../context.ts";
import { parseRemote, type RemoteConfig } from "../../config/schema.ts";
import { jsonError } from "../../errors.ts";

/**
 * A remote as stored right now (not the isolate's cached copy): a probe just after a PUT
 * tests the new config.
 */
export async function storedRemote(c: Context<AppEnv>, name: string): Promise<RemoteConfig | Response> {
  const row = await c.var.stores.meta.getConfig("remotes", name);
  return row ? parseRemote(row.name, row.config) : jsonError(404, "REMOTE_NOT_FOUND", `no remote named '${name}'`);
}

/** The path as it goes into an upstream URL, or null when it has `.`/`..` segments (which could climb above base_url). */
export function encodePath(path: string): string | null {
  const segments = path.replace(/^\/+/, "").split("/");
  if (segments.some((segment) => segment === "." || segment === "..")) return null;
  return segments.map(encodeURIComponent).join("/");
}

/** Reads a body to its end without keeping it; returns its length. */
export async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (!body) return 0;
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return size;
    size += value.byteLength;
  }
}
