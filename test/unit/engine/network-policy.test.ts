import { expect, it } from "vitest";
import { isPrivateHost } from "../../../functions/proxy/network-policy.ts";

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
  ]) {
    expect(isPrivateHost(hostOf(url)), url).toBe(true);
  }
});

it("lets public names and addresses through", () => {
  for (const url of ["https://github.com/", "http://93.184.216.34/", "http://[2606:4700::1111]/", "http://172.32.0.1/", "http://11.0.0.1/"]) {
    expect(isPrivateHost(hostOf(url)), url).toBe(false);
  }
});
