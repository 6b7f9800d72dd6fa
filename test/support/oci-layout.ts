import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
}

/**
 * An OCI image layout directory built from scratch (random layers, config, manifests, indexes),
 * the source `skopeo copy oci:<dir>:<tag> docker://…` pushes to a test registry.
 */
export class OciLayout {
  readonly dir: string;
  readonly #refs: (Descriptor & { annotations: Record<string, string> })[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  async blob(body: Buffer | string, mediaType: string): Promise<Descriptor> {
    const bytes = Buffer.from(body);
    const hex = createHash("sha256").update(bytes).digest("hex");
    await mkdir(join(this.dir, "blobs", "sha256"), { recursive: true });
    await writeFile(join(this.dir, "blobs", "sha256", hex), bytes);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  }

  /** An image of `layers` gzip layers, each one file of `layerBytes` random bytes (or one size per layer). */
  async image(layers: number, layerBytes: number | number[], platform = { architecture: "amd64", os: "linux" }): Promise<Descriptor> {
    const layerDescriptors: Descriptor[] = [];
    const diffIds: string[] = [];
    for (let i = 0; i < layers; i++) {
      const tar = tarOneFile(`layer-${i}.bin`, randomBytes(Array.isArray(layerBytes) ? layerBytes[i]! : layerBytes));
      diffIds.push(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
      layerDescriptors.push(await this.blob(gzipSync(tar, { level: 1 }), "application/vnd.oci.image.layer.v1.tar+gzip"));
    }
    const config = await this.blob(
      JSON.stringify({ ...platform, config: {}, rootfs: { type: "layers", diff_ids: diffIds }, created: "2026-11-01T00:00:00Z" }),
      "application/vnd.oci.image.config.v1+json",
    );
    const manifest = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: layerDescriptors };
    return { ...(await this.blob(JSON.stringify(manifest), manifest.mediaType)), platform };
  }

  async index(manifests: Descriptor[]): Promise<Descriptor> {
    const index = { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests };
    return this.blob(JSON.stringify(index), index.mediaType);
  }

  /** Names a manifest or index `tag` in the layout (what `oci:<dir>:<tag>` refers to). */
  tag(tag: string, descriptor: Descriptor): void {
    const { platform: _platform, ...plain } = descriptor;
    this.#refs.push({ ...plain, annotations: { "org.opencontainers.image.ref.name": tag } });
  }

  async write(): Promise<void> {
    await writeFile(join(this.dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(join(this.dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: this.#refs }));
  }
}

/** A ustar archive holding one regular file. */
function tarOneFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value.padEnd(length, "\0").slice(0, length), offset, "latin1");
  field(0, 100, name);
  field(100, 8, "0000644");
  field(108, 8, "0000000");
  field(116, 8, "0000000");
  field(124, 12, data.length.toString(8).padStart(11, "0"));
  field(136, 12, "15000000000");
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 6, "ustar");
  field(263, 2, "00");
  const checksum = header.reduce((sum: number, byte: number) => sum + byte, 0);
  field(148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}
