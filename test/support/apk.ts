import { createHash, createSign, type KeyObject } from "node:crypto";
import { gunzipSync, gzipSync, inflateRawSync } from "node:zlib";
import { readTar, tar } from "./archives.ts";

/**
 * Alpine's apk v2 formats, built the way abuild builds them and read the way apk-tools reads
 * them. A package is gzip streams back to back: the control section (`.PKGINFO`, its tar cut
 * short) and the data section; `.PKGINFO` carries `datahash` = sha256 of the data stream.
 * The index entry's `C:` is `Q1` + base64 sha1 of the control stream. A signed index is a
 * signature stream (`.SIGN.RSA.<key>`: RSA over sha1 of the rest) followed by the index stream.
 */

export interface Apk {
  name: string;
  version: string;
  file: Buffer;
  /** The `C:` checksum an index lists for it. */
  checksum: string;
}

export function buildApk(name: string, version: string, files: Record<string, string>): Apk {
  const data = gzipSync(tar(Object.entries(files).map(([path, body]) => ({ name: path, body }))));
  const installedSize = Object.values(files).reduce((sum, body) => sum + Buffer.byteLength(body), 0);
  const pkginfo = [
    `pkgname = ${name}`,
    `pkgver = ${version}`,
    "pkgdesc = a package served through the proxy",
    "arch = x86_64",
    "license = MIT",
    `size = ${installedSize}`,
    `datahash = ${createHash("sha256").update(data).digest("hex")}`,
    "",
  ].join("\n");
  const control = gzipSync(tar([{ name: ".PKGINFO", body: pkginfo }], { end: false }));
  return { name, version, file: Buffer.concat([control, data]), checksum: q1(control) };
}

/** `APKINDEX.tar.gz` listing `packages`, signed with `key` (named `keyName` as in /etc/apk/keys). */
export function buildIndex(packages: Apk[], key: KeyObject, keyName: string): Buffer {
  const entries = packages.map((apk) => [`C:${apk.checksum}`, `P:${apk.name}`, `V:${apk.version}`, "A:x86_64", `S:${apk.file.length}`, "L:MIT", ""].join("\n"));
  const index = gzipSync(tar([{ name: "DESCRIPTION", body: "proxy test repository" }, { name: "APKINDEX", body: `${entries.join("\n")}\n` }], { end: false }));
  const signature = createSign("RSA-SHA1").update(index).sign(key);
  const signatureStream = gzipSync(tar([{ name: `.SIGN.RSA.${keyName}`, body: signature }], { end: false }));
  return Buffer.concat([signatureStream, index]);
}

/** One index record: its single-letter fields (`P`, `V`, `C`, `S`…). */
export type IndexRecord = Record<string, string>;

export function parseIndex(apkindex: string): IndexRecord[] {
  return apkindex
    .split(/\n\n+/)
    .filter((block) => block.trim() !== "")
    .map((block) => Object.fromEntries(block.split("\n").filter(Boolean).map((line) => [line[0]!, line.slice(2)])));
}

/** Splits concatenated gzip streams at their boundaries (apk hashes and signs whole streams). */
export function gzipStreams(data: Buffer): Buffer[] {
  const streams: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    if (data[start] !== 0x1f || data[start + 1] !== 0x8b || data[start + 2] !== 8) throw new Error(`no gzip stream at byte ${start}`);
    const flags = data[start + 3]!;
    let offset = start + 10;
    if (flags & 0x04) offset += 2 + data.readUInt16LE(offset); // FEXTRA
    if (flags & 0x08) offset = data.indexOf(0, offset) + 1; // FNAME
    if (flags & 0x10) offset = data.indexOf(0, offset) + 1; // FCOMMENT
    if (flags & 0x02) offset += 2; // FHCRC
    const { engine } = inflateRawSync(data.subarray(offset), { info: true }) as unknown as { engine: { bytesWritten: number } };
    const end = offset + engine.bytesWritten + 8; // the deflate data, then CRC32 and size
    streams.push(data.subarray(start, end));
    start = end;
  }
  return streams;
}

/** The files of one gzip stream holding a tar (cut or not). */
export function filesOf(stream: Buffer): Map<string, Buffer> {
  return readTar(gunzipSync(stream));
}

export function q1(stream: Buffer): string {
  return `Q1${createHash("sha1").update(stream).digest("base64")}`;
}
