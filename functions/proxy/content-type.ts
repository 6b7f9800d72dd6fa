const byExtension: Record<string, string> = {
  ".tar.gz": "application/gzip",
  ".tgz": "application/gzip",
  ".gz": "application/gzip",
  ".zip": "application/zip",
  ".whl": "application/zip",
  ".jar": "application/java-archive",
  ".xz": "application/x-xz",
  ".bz2": "application/x-bzip2",
  ".zst": "application/zstd",
  ".tar": "application/x-tar",
  ".rpm": "application/x-rpm",
  ".deb": "application/vnd.debian.binary-package",
  ".apk": "application/octet-stream",
  ".json": "application/json",
  ".xml": "application/xml",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".pdf": "application/pdf",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".asc": "text/plain; charset=utf-8",
  ".sig": "application/pgp-signature",
  ".sha256": "text/plain; charset=utf-8",
};

/** The upstream's type when it says something specific; otherwise a guess from the file name. */
export function contentTypeFor(filename: string, upstreamType: string | null): string {
  if (upstreamType && !/^(application\/octet-stream|binary\/octet-stream)\b/i.test(upstreamType)) return upstreamType;
  const lower = filename.toLowerCase();
  const extension = Object.keys(byExtension).find((ext) => lower.endsWith(ext));
  return extension ? byExtension[extension]! : "application/octet-stream";
}
