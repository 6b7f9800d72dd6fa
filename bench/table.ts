/** A markdown table filled cell by cell; rows keep the order they were first named in. */
export class Table {
  readonly #columns: string[];
  readonly #rows = new Map<string, Map<string, string>>();

  constructor(columns: string[]) {
    this.#columns = columns;
  }

  set(scenario: string, metric: string, column: string, value: string): void {
    if (!this.#columns.includes(column)) throw new Error(`no column '${column}'`);
    const key = `${scenario}\u0000${metric}`;
    if (!this.#rows.has(key)) this.#rows.set(key, new Map());
    this.#rows.get(key)!.set(column, value);
  }

  get(scenario: string, metric: string, column: string): string | undefined {
    return this.#rows.get(`${scenario}\u0000${metric}`)?.get(column);
  }

  render(): string {
    const header = ["scenario", "metric", ...this.#columns];
    const lines = [header, header.map(() => "---")];
    for (const [key, cells] of this.#rows) {
      lines.push([...key.split("\u0000"), ...this.#columns.map((column) => cells.get(column) ?? "—")]);
    }
    return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
  }
}

/** A number with as many digits as a reader of the table needs. */
export function fmt(value: number | null | undefined, digits?: number): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (digits !== undefined) return value.toFixed(digits);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
