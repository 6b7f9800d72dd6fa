import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ChartError, readChart } from "../../../functions/locals/helm-chart.ts";
import { tar } from "../../support/archives.ts";

const stream = (bytes: Buffer) => new Blob([bytes]).stream();
const chartYaml = (name: string, version: string) => `apiVersion: v2\nname: ${name}\nversion: ${version}\nappVersion: 1.10\n`;

/** A GNU long-name record (type L) for a name over ustar's 100 bytes, as Go's archive/tar writes one. */
function longNamed(name: string, body: string): Buffer {
  const record = tar([{ name: "././@LongLink", body: `${name}\0` }], { end: false });
  record[156] = "L".charCodeAt(0);
  fixChecksum(record);
  return Buffer.concat([record, tar([{ name: name.slice(0, 99), body }])]);
}

function fixChecksum(archive: Buffer): void {
  archive.write("        ", 148);
  let sum = 0;
  for (const byte of archive.subarray(0, 512)) sum += byte;
  archive.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
}

describe("reading a chart archive's Chart.yaml", () => {
  it("takes the chart's own Chart.yaml, not a subchart's that comes first, with scalars as written", async () => {
    const archive = gzipSync(tar([{ name: "web/charts/db/Chart.yaml", body: chartYaml("db", "9.9.9") }, { name: "web/Chart.yaml", body: chartYaml("web", "1.0.0") }]));
    expect(await readChart(stream(archive))).toEqual({ name: "web", version: "1.0.0", fields: { apiVersion: "v2", name: "web", version: "1.0.0", appVersion: "1.10" } });
  });

  it("follows a GNU long name to the file it names", async () => {
    const folder = "a".repeat(120);
    const archive = gzipSync(longNamed(`${folder}/Chart.yaml`, chartYaml(folder, "2.0.0")));
    expect((await readChart(stream(archive))).name).toBe(folder);
  });

  it("refuses what helm would refuse, saying why", async () => {
    const cases: [Buffer, RegExp][] = [
      [gzipSync(tar([{ name: "web/Chart.yaml", body: chartYaml("web", "1.0.0") }])).subarray(0, 40), /not a gzip'd tar archive/],
      [gzipSync(Buffer.alloc(700, 7)), /bad header checksum/],
      [gzipSync(tar([{ name: "web/Chart.yaml", body: chartYaml("other", "1.0.0") }])), /folder 'web' is not its name 'other'/],
      [gzipSync(tar([{ name: "web/Chart.yaml", body: chartYaml("web", "1.0") }])), /not SemVer 2/],
      [gzipSync(tar([{ name: "web/values.yaml", body: "a: 1" }])), /no <chart>\/Chart.yaml/],
    ];
    for (const [archive, message] of cases) await expect(readChart(stream(archive))).rejects.toThrow(message);
    await expect(readChart(stream(Buffer.from("plain")))).rejects.toBeInstanceOf(ChartError);
  });
});
