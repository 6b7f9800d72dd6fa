import { describe, expect, it } from "vitest";
import { FormReader, formBoundary, MalformedForm } from "../../../functions/locals/multipart.ts";
import type { PackageState } from "../../../infra/meta/local-store.ts";
import { parseCoreMetadata, parseDistributionName, projectPage, sameVersion } from "../../../providers/pypi-local.ts";

describe("pypi local: what an upload says about itself", () => {
  it("reads wheel and sdist file names", () => {
    expect(parseDistributionName("team_lib-1.0.0-py3-none-any.whl")).toEqual({ filetype: "bdist_wheel", project: "team_lib", version: "1.0.0" });
    expect(parseDistributionName("numpy-2.1.0-1-cp312-cp312-manylinux_2_17_x86_64.whl")).toEqual({ filetype: "bdist_wheel", project: "numpy", version: "2.1.0" });
    expect(parseDistributionName("team-lib-1.0.0rc1.tar.gz")).toEqual({ filetype: "sdist", project: "team-lib", version: "1.0.0rc1" });
    for (const name of ["team_lib-1.0.0.zip", "notes.txt", "../x-1.0.tar.gz", "x.whl"]) expect(parseDistributionName(name)).toBeNull();
    expect(sameVersion("1.0.0_rc1", "1.0.0-rc1")).toBe(true);
  });

  it("reads core metadata up to the description body, continuation lines included", () => {
    const text = "Metadata-Version: 2.1\r\nName: Team_Lib\r\nVersion: 1.0.0\r\nSummary: a\r\n  longer summary\r\nRequires-Python: >=3.8\r\n\r\nName: not this\r\n";
    expect(parseCoreMetadata(text)).toEqual({ name: "Team_Lib", version: "1.0.0", requiresPython: ">=3.8", summary: "a\nlonger summary" });
    expect(parseCoreMetadata("Metadata-Version: 2.1\nName: x\n")).toBeNull();
  });

  it("escapes what it writes into a PEP 503 page", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    const state: PackageState = {
      package: { local: "l", name: "team-lib", displayName: "Team_Lib", metadata: {}, revision: 1, createdAt: at, updatedAt: at },
      versions: [{ version: "1.0.0", metadata: {}, publishedBy: "ci", publishedAt: at, deletedAt: null }],
      tags: {},
      files: [
        { local: "l", path: "packages/team-lib/team_lib-1.0.0.tar.gz", sha256: "b".repeat(64), size: 3, contentType: "x", uploadedBy: "ci", uploadedAt: at, package: "team-lib", version: "1.0.0", metadata: { requires_python: '>=3.8,!="4"' } },
      ],
    };
    expect(projectPage(state, "https://h/l", "html")).toContain(`<a href="https://h/l/packages/team-lib/team_lib-1.0.0.tar.gz#sha256=${"b".repeat(64)}" data-requires-python="&gt;=3.8,!=&quot;4&quot;">`);
  });
});

describe("pypi local: the upload form, streamed", () => {
  const boundary = "----formboundary7MA4YWxkTrZu0gW";
  const file = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
  // A file whose bytes contain a near-boundary, to be kept as data.
  file.set(new TextEncoder().encode(`\r\n--${boundary.slice(0, -1)}`), 1000);
  const body = Buffer.concat([
    Buffer.from(`preamble\r\n--${boundary}\r\nContent-Disposition: form-data; name=":action"\r\n\r\nfile_upload\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="content"; filename="x-1.0.tar.gz"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    Buffer.from(file),
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="sha256_digest"\r\n\r\nabc\r\n--${boundary}--\r\n`),
  ]);
  const chunked = (bytes: Buffer, size: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += size) controller.enqueue(new Uint8Array(bytes.subarray(at, at + size)));
        controller.close();
      },
    });
  const readAll = async (stream: ReadableStream<Uint8Array>) => Buffer.from(await new Response(stream).arrayBuffer());

  it("finds the boundary of a Content-Type", () => {
    expect(formBoundary(`multipart/form-data; boundary=${boundary}`)).toBe(boundary);
    expect(formBoundary('multipart/form-data; boundary="a b"')).toBe("a b");
    expect(formBoundary("application/json")).toBeNull();
  });

  it.each([1, 2, 7, 64, 1000, 100_000])("reads every part whole with the body in chunks of %i bytes", async (size) => {
    const reader = new FormReader(chunked(body, size), boundary);
    const parts: [string, string | null, Buffer][] = [];
    for (let part = await reader.next(); part !== null; part = await reader.next()) parts.push([part.name, part.filename, await readAll(part.body)]);
    expect(parts.map(([name, filename]) => [name, filename])).toEqual([[":action", null], ["content", "x-1.0.tar.gz"], ["sha256_digest", null]]);
    expect(parts[0]![2].toString()).toBe("file_upload");
    expect(parts[1]![2].equals(Buffer.from(file))).toBe(true);
    expect(parts[2]![2].toString()).toBe("abc");
  });

  it("skips a part that is cancelled and refuses a body cut before its closing boundary", async () => {
    const reader = new FormReader(chunked(body, 100), boundary);
    await expect(readAll((await reader.next())!.body)).resolves.toEqual(Buffer.from("file_upload"));
    const content = (await reader.next())!;
    await content.body.cancel();
    expect((await reader.next())!.name).toBe("sha256_digest");

    const cut = new FormReader(chunked(body.subarray(0, 1500), 100), boundary);
    await cut.next().then((part) => readAll(part!.body));
    const part = (await cut.next())!;
    await expect(readAll(part.body)).rejects.toBeInstanceOf(MalformedForm);
  });
});
