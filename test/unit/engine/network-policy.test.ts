import { expect, it } from "vitest";
import { isPrivateHost, outboundDenyList } from "../../../functions/proxy/network-policy.ts";

const hostOf = (url: string) => new URL(url).hostname;

it("flags loopback, private, link-local and reserved addresses, however they are spelled", () => {
  for (const url of [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://169.254.169.254/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://localhost/",
    "http://api.localhost/",
    "http://printer.local/",
    "http://metadata.google.internal/",
    // IPv6 transition ranges: NAT64 with a private IPv4 inside, 6to4, Teredo, site-local, local-use NAT64.
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",
    "http://[2002:808:808::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[fec0::1]/",
    "http://[feff::1]/",
    "http://[64:ff9b:1::a00:1]/",
    // Single-label names resolve through the host's search domains: never a public upstream.
    "http://intranet/",
    "http://redis:6379/",
    "http://vm./",
  ]) {
    expect(isPrivateHost(hostOf(url)), url).toBe(true);
  }
});

it("lets public names and addresses through", () => {
  for (const url of ["https://github.com/", "http://93.184.216.34/", "http://[2606:4700::1111]/", "http://172.32.0.1/", "http://11.0.0.1/",
    // NAT64 of a public IPv4 is how IPv6-only networks reach IPv4-only upstreams: allowed.
    "http://[64:ff9b::808:808]/", "http://[::ffff:8.8.8.8]/", "http://[2001:4860:4860::8888]/", "http://[2003::1]/", "http://files.pythonhosted.org./"]) {
    expect(isPrivateHost(hostOf(url)), url).toBe(false);
  }
});

it("gives the outbound guard the same ranges as CIDRs, embedded IPv4 ranges included", () => {
  const deny = outboundDenyList();
  expect(deny).toEqual(expect.arrayContaining(["127.0.0.0/8", "10.0.0.0/8", "169.254.0.0/16", "fec0::/10", "2002::/16", "64:ff9b::127.0.0.0/104", "::ffff:10.0.0.0/104"]));
  expect(deny).not.toContain("64:ff9b::/96");
  for (const cidr of deny) expect(cidr).toMatch(/^[0-9a-f:.]+\/\d{1,3}$/);
});
