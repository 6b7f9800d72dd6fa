/** A stacked bar chart drawn as SVG on the server: no script, no library, colours from the stylesheet. */
export interface ChartSeries {
  label: string;
  /** Suffix of the CSS classes .f-<name> (bar fill) and .s-<name> (legend swatch). */
  color: "hit" | "miss" | "served" | "fetched";
}

export interface ChartProps {
  id: string;
  title: string;
  series: ChartSeries[];
  /** One bar per bucket; values in the order of `series`. */
  bars: { label: string; values: number[] }[];
  format: (value: number) => string;
}

const WIDTH = 640;
const HEIGHT = 180;
const LEFT = 64;
const BOTTOM = 20;

export function BarChart({ id, title, series, bars, format }: ChartProps) {
  const max = Math.max(1, ...bars.map((bar) => bar.values.reduce((a, b) => a + b, 0)));
  const plotWidth = WIDTH - LEFT - 4;
  const plotHeight = HEIGHT - BOTTOM - 8;
  const step = plotWidth / Math.max(1, bars.length);
  const totals = series.map((s, i) => `${s.label} ${format(bars.reduce((sum, bar) => sum + (bar.values[i] ?? 0), 0))}`).join(", ");
  return (
    <figure class="chart card">
      <figcaption id={`${id}-title`}>
        <strong>{title}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <desc id={`${id}-desc`}>{`Totals: ${totals}; highest bar ${format(max)}.`}</desc>
        <line class="f-axis" x1={LEFT} y1={8} x2={LEFT} y2={HEIGHT - BOTTOM} />
        <line class="f-axis" x1={LEFT} y1={HEIGHT - BOTTOM} x2={WIDTH} y2={HEIGHT - BOTTOM} />
        <text class="f-text" x={LEFT - 6} y={14} text-anchor="end">
          {format(max)}
        </text>
        <text class="f-text" x={LEFT - 6} y={HEIGHT - BOTTOM} text-anchor="end">
          0
        </text>
        {bars.map((bar, index) => {
          let y = HEIGHT - BOTTOM;
          return (
            <g>
              <title>{`${bar.label}: ${series.map((s, i) => `${s.label} ${format(bar.values[i] ?? 0)}`).join(", ")}`}</title>
              {bar.values.map((value, i) => {
                const h = (value / max) * plotHeight;
                y -= h;
                return h > 0 ? <rect class={`f-${series[i]!.color}`} x={LEFT + index * step + 1} y={y} width={Math.max(1, step - 2)} height={h} /> : null;
              })}
            </g>
          );
        })}
        <text class="f-text" x={LEFT} y={HEIGHT - 4}>
          {bars[0]?.label ?? ""}
        </text>
        <text class="f-text" x={WIDTH} y={HEIGHT - 4} text-anchor="end">
          {bars[bars.length - 1]?.label ?? ""}
        </text>
      </svg>
      <ul class="legend">
        {series.map((s) => (
          <li>
            <span class={`swatch s-${s.color}`}></span>
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
