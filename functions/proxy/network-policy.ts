/**
 * Keeps remotes from becoming an open proxy into private networks, in two layers:
 * - here, what the Worker sees in a URL, for base_url and again for every redirect hop: IP
 *   literals (the URL parser already normalises `2130706433`, `0x7f.1` and IPv6 spellings),
 *   names reserved for local use, and single-label names (`intranet`, `redis`), which resolve
 *   through the host's search domains and are never a public upstream;
 * - under `npm start` and a self-hosted workerd, the outbound guard (infra/local/outbound-guard.ts)
 *   resolves every name and refuses the same ranges by the address it actually connects to, so a
 *   public-looking name that resolves to loopback is refused too. On Cloudflare the platform
 *   refuses private destinations itself.
 * A remote with `allow_private_network: true` skips both.
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host.includes(":")) {
    const v6 = parseIPv6(host);
    return v6 === null || isPrivateIPv6(v6);
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) return isPrivateIPv4(v4);
  return !host.includes(".") || /\.(localhost|local|internal|home\.arpa)$/.test(host);
}

/** IPv4 ranges that are not the public internet. */
const PRIVATE_IPV4 = [
  "0.0.0.0/8", // "this" network
  "10.0.0.0/8",
  "100.64.0.0/10", // carrier-grade NAT
  "127.0.0.0/8",
  "169.254.0.0/16", // link-local, cloud metadata
  "172.16.0.0/12",
  "192.168.0.0/16",
  "198.18.0.0/15", // benchmarking
  "224.0.0.0/3", // multicast, reserved, broadcast
];

/** IPv6 ranges refused whole. */
const PRIVATE_IPV6 = [
  "::/128",
  "::1/128",
  "fc00::/7", // unique local
  "fe80::/10", // link-local
  "fec0::/10", // site-local: deprecated, still routed inside some networks
  "ff00::/8", // multicast
  "2002::/16", // 6to4: embeds an IPv4 address; deprecated (RFC 7526), no upstream needs it
  "2001::/32", // Teredo: embeds (obfuscated) IPv4 addresses; not globally reachable
  "64:ff9b:1::/48", // local-use NAT64 (RFC 8215): not globally reachable
];

/**
 * IPv6 prefixes whose last 32 bits are an IPv4 address the connection ends up at: refused when
 * that address is private. The NAT64 well-known prefix is not refused whole: DNS64 gives every
 * IPv4-only host (github.com has no AAAA record) an address in it, so on an IPv6-only network
 * refusing the prefix would refuse most upstreams, while the gateway connects to the embedded
 * address, which is checked like any IPv4 address.
 */
const IPV4_CARRYING_IPV6 = [
  "::ffff:0:0/96", // IPv4-mapped
  "::/96", // IPv4-compatible (deprecated)
  "64:ff9b::/96", // NAT64 well-known prefix (RFC 6052)
];

/**
 * The guard's deny list in workerd's CIDR notation: the ranges above, and every private IPv4
 * range inside each IPv4-carrying prefix (`64:ff9b::10.0.0.0/104`).
 */
export function outboundDenyList(): string[] {
  const embedded = IPV4_CARRYING_IPV6.flatMap((carrier) => {
    const prefix = carrier.slice(0, carrier.indexOf("/")).replace(/0:0$/, "");
    return PRIVATE_IPV4.map((range) => {
      const [address, length] = range.split("/");
      return `${prefix}${address}/${96 + Number(length)}`;
    });
  });
  return [...PRIVATE_IPV4, ...PRIVATE_IPV6, ...embedded];
}

interface Cidr {
  network: bigint;
  mask: bigint;
}

function cidr(text: string, bits: 32 | 128): Cidr {
  const [address, length] = text.split("/");
  const value = bits === 32 ? parseIPv4(address!) : parseIPv6(address!);
  const mask = ((1n << BigInt(length!)) - 1n) << BigInt(bits - Number(length));
  return { network: value! & mask, mask };
}

const inRange = (address: bigint, ranges: Cidr[]) => ranges.some((range) => (address & range.mask) === range.network);

const privateV4 = PRIVATE_IPV4.map((text) => cidr(text, 32));
const privateV6 = PRIVATE_IPV6.map((text) => cidr(text, 128));
const ipv4Carrying = IPV4_CARRYING_IPV6.map((text) => cidr(text, 128));

function isPrivateIPv4(address: bigint): boolean {
  return inRange(address, privateV4);
}

function isPrivateIPv6(address: bigint): boolean {
  if (inRange(address, privateV6)) return true;
  return inRange(address, ipv4Carrying) && isPrivateIPv4(address & 0xffffffffn);
}

function parseIPv4(host: string): bigint | null {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((value, part) => (value << 8n) | BigInt(part), 0n);
}

/** `a:b::c` and `::ffff:1.2.3.4` forms; null when it is not an IPv6 address. */
function parseIPv6(host: string): bigint | null {
  let text = host;
  const dotted = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]!);
    if (v4 === null) return null;
    text = `${text.slice(0, text.length - dotted[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  return all.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}
