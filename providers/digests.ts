import type { Digest, DigestAlgorithm } from "./types.ts";

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha1: 40, sha256: 64, sha384: 96, sha512: 128 };
const HEX = Object.fromEntries(Object.entries(HEX_LENGTH).map(([name, length]) => [name, new RegExp(`^[0-9a-f]{${length}}$`, "i")])) as Record<DigestAlgorithm, RegExp>;
const STRENGTH: DigestAlgorithm[] = ["sha1", "sha256", "sha384", "sha512"];

/** A hex digest as an index declares it, or null for algorithms we cannot verify (md5) or bad values. */
export function hexDigest(algorithm: string, hex: string): Digest | null {
  const name = algorithm.toLowerCase() as DigestAlgorithm;
  const pattern = Object.hasOwn(HEX, name) ? HEX[name] : undefined;
  if (pattern === undefined || !pattern.test(hex)) return null;
  return { algorithm: name, hex: hex.toLowerCase() };
}

/** The strongest of the digests given (indexes may list several). */
export function strongest(digests: Iterable<Digest | null>): Digest | null {
  let best: Digest | null = null;
  for (const digest of digests) {
    if (digest && (!best || STRENGTH.indexOf(digest.algorithm) > STRENGTH.indexOf(best.algorithm))) best = digest;
  }
  return best;
}

/** Subresource Integrity (`sha512-<base64> …`, npm's `dist.integrity`) → the strongest hex digest. */
export function sriDigest(integrity: string): Digest | null {
  return strongest(
    integrity
      .trim()
      .split(/\s+/)
      .map((token) => {
        const match = /^(sha\d+)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token);
        return match ? hexDigest(match[1]!, base64ToHex(match[2]!)) : null;
      }),
  );
}

function base64ToHex(base64: string): string {
  let hex = "";
  try {
    for (const char of atob(base64)) hex += char.charCodeAt(0).toString(16).padStart(2, "0");
  } catch {
    return "";
  }
  return hex;
}
