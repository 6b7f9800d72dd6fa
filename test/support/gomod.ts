import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { encodeModulePath } from "../../providers/goproxy.ts";
import { zip, type ArchiveFile } from "./archives.ts";

const run = promisify(execFile);

/** Upper-case letters, so every URL `go` sends spells them `!` + lower case. */
export const MODULE = "example.com/Acme/Greeter";
export const ESCAPED = encodeModulePath(MODULE);
/**
 * `go` percent-encodes that `!` in its requests (proxy.golang.org gets `%21` too); static
 * servers decode it, the test origin matches paths verbatim, so it lists them as sent.
 */
export const ON_THE_WIRE = ESCAPED.replaceAll("!", "%21");

/** One module version as a static GOPROXY tree serves it. */
export function moduleVersion(version: string) {
  const goMod = `module ${MODULE}\n\ngo 1.19\n`;
  const files: ArchiveFile[] = [
    { name: `${MODULE}@${version}/go.mod`, body: goMod },
    { name: `${MODULE}@${version}/greeter.go`, body: `package greeter\n\nconst Version = "${version}"\n` },
  ];
  return {
    info: JSON.stringify({ Version: version, Time: "2026-01-02T03:04:05Z" }),
    mod: goMod,
    zip: zip(files),
    // What `go` records in go.sum: dirhash "h1" over the zip's files and over the lone go.mod.
    sum: h1(files),
    goModSum: h1([{ name: "go.mod", body: goMod }]),
  };
}

function h1(files: ArchiveFile[]): string {
  const sha256 = (data: Buffer | string) => createHash("sha256").update(data);
  const summary = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((file) => `${sha256(file.body).digest("hex")}  ${file.name}\n`)
    .join("");
  return `h1:${sha256(summary).digest("base64")}`;
}

/** `go` with a fresh GOPATH, module cache and build cache (under `work`): nothing comes from an earlier run. */
export async function runGo(work: string, goproxy: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const home = await mkdtemp(join(work, "client-"));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    GOPATH: join(home, "go"),
    GOMODCACHE: join(home, "go", "pkg", "mod"),
    GOCACHE: join(home, "cache"),
    GOENV: "off",
    GO111MODULE: "on",
    GOPROXY: goproxy,
    GOSUMDB: "off",
    GOFLAGS: "-mod=mod",
    GOTOOLCHAIN: "local",
  };
  try {
    return await run("go", args, { cwd: home, env, timeout: 60_000 });
  } catch (error) {
    // `-json` reports the failure on stdout.
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`go ${args.join(" ")} failed: ${stderr ?? ""}${stdout ?? ""}`);
  } finally {
    // The module cache is read-only by design; -modcacherw is not set, so make it removable.
    await run("chmod", ["-R", "u+w", home]);
    await rm(home, { recursive: true, force: true });
  }
}
