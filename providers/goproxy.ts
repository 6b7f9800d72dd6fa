import type { Classification, Provider } from "./types.ts";

/**
 * Go module proxy protocol (GOPROXY) and, optionally, the checksum database under `sumdb/`.
 * Anything else is denied: `go` only asks for these paths.
 */

/** Module paths and versions in URLs spell each upper-case letter as `!` + its lower case. */
export function encodeModulePath(path: string): string {
  return path.replace(/[A-Z]/g, (letter) => `!${letter.toLowerCase()}`);
}

/** The inverse of encodeModulePath, or null for a path no `go` client would send. */
export function decodeModulePath(encoded: string): string | null {
  if (/[A-Z]/.test(encoded)) return null;
  let invalid = false;
  const decoded = encoded.replace(/!(.?)/g, (_all, letter: string) => {
    if (!/^[a-z]$/.test(letter)) invalid = true;
    return letter.toUpperCase();
  });
  return invalid ? null : decoded;
}

/** Canonical semantic versions (including pseudo-versions) name content that never changes. */
export const CANONICAL_VERSION = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+incompatible)?$/;
const MODULE_REQUEST = /^(.+?)\/(@v\/list|@latest|@v\/(.+)\.(info|mod|zip))$/;

export function classifyGoproxy(path: string): Classification {
  const sumdb = /^sumdb\/[^/]+\/(supported|latest|lookup\/.+|tile\/.+)$/.exec(path);
  if (sumdb) {
    return /^(supported|latest)$/.test(sumdb[1]!)
      ? { kind: "mutable", reason: "checksum database head" }
      : { kind: "immutable", reason: "checksum database lookup or tile" };
  }
  const request = MODULE_REQUEST.exec(path);
  if (!request) return { kind: "denied", reason: "not a module proxy protocol path" };
  const [, module, endpoint, encodedVersion, extension] = request;
  if (decodeModulePath(module!) === null) return { kind: "denied", reason: "module path is not case-encoded" };
  if (endpoint === "@v/list" || endpoint === "@latest") return { kind: "mutable", reason: "version list" };
  const version = decodeModulePath(encodedVersion!);
  if (version !== null && CANONICAL_VERSION.test(version)) return { kind: "immutable", reason: `module .${extension}` };
  // `go` asks `.info` for branch names and queries; their answer moves.
  if (extension === "info" && version !== null) return { kind: "mutable", reason: "version query" };
  return { kind: "denied", reason: "not a canonical module version" };
}

export const goproxy: Provider = {
  type: "goproxy",
  classify: classifyGoproxy,
  cacheKey: (path) => path,
};
