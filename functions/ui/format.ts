/** How the web UI writes numbers, sizes, ratios and times. */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export function ratio(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`;
}

export function time(date: Date | null | undefined): string {
  return date ? date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "never";
}

export function seconds(value: unknown): string {
  const n = Number(value);
  if (!Number.isFinite(n)) return "–";
  if (n === 0) return "0";
  if (n % 86400 === 0) return `${n / 86400} d`;
  if (n % 3600 === 0) return `${n / 3600} h`;
  if (n % 60 === 0) return `${n / 60} min`;
  return `${n} s`;
}
