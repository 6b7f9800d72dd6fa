import { randomBytes } from "node:crypto";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { readFileSync, writeFileSync } from "node:fs";

const HOSTS = "/etc/hosts";

export interface HostsEntry {
  name: string;
  remove(): Promise<void>;
}

/**
 * A public-looking name (`ssrf-test-<random>.example`) that resolves to 127.0.0.1, as
 * `127.0.0.1.nip.io` does on the internet: these machines have no DNS, so it is a line in
 * /etc/hosts. The file is shared with other runs: the line is appended, and removed again by
 * exact match (also if the process exits without afterAll).
 */
export async function loopbackName(): Promise<HostsEntry> {
  const name = `ssrf-test-${randomBytes(4).toString("hex")}.example`;
  const line = `127.0.0.1 ${name}`;
  const current = await readFile(HOSTS, "utf8");
  await appendFile(HOSTS, `${current.endsWith("\n") || current === "" ? "" : "\n"}${line}\n`);
  const without = (text: string) => text.split("\n").filter((l) => l !== line).join("\n");
  const removeNow = () => writeFileSync(HOSTS, without(readFileSync(HOSTS, "utf8")));
  process.once("exit", removeNow);
  return {
    name,
    async remove() {
      process.off("exit", removeNow);
      await writeFile(HOSTS, without(await readFile(HOSTS, "utf8")));
    },
  };
}
