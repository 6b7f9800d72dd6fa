import type { LocalConfig, LocalPackageType } from "../config/schema.ts";
import type { ProxyContext } from "../context.ts";

/**
 * One request to a local repository, resolved by the route (routes/local.ts): the local exists,
 * the path is decoded and has no `.`/`..` segments. Access is each type's to check, with
 * auth.ts's `localWriteAccess` (before any body is read) and `mayReadRemote`, so that refusals
 * come in the client ecosystem's own error shape.
 */
export interface LocalRequest extends ProxyContext {
  local: LocalConfig;
  request: Request;
  /** Below the local, percent-decoded; "" is its root; a folder ends in "/". */
  path: string;
  /** The local's absolute URL as the client reached it (scheme, host, prefix), for links in generated documents. */
  baseUrl: string;
}

/**
 * What a package type adds to the local foundation: the protocol its client speaks. The
 * foundation (functions/locals/) gives every type the byte path (upload.ts), the commit
 * (commit.ts), file records with their cached reads (files.ts) and the rows (LocalStore).
 */
export interface LocalType {
  /** Answers every method on every path below the local. */
  handle(request: LocalRequest): Promise<Response>;
}

export type LocalTypes = Partial<Record<LocalPackageType, LocalType>>;
