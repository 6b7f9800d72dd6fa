import { Hono } from "hono";
import { backendHealth } from "../../routes/health.ts";
import { STATS_WINDOWS, summarize, usageStats, type StatsWindow } from "../../routes/management/stats.ts";
import { BarChart } from "../chart.tsx";
import { bytes, count, ratio } from "../format.ts";
import { Layout, render, DataTable } from "../layout.tsx";
import { openBreakers } from "../repositories.ts";
import type { AppEnv } from "../../context.ts";
import { formOf, sessionOf } from "../session.ts";

/** Bucket size of each window's charts: 60, 48 and 28 bars. */
const BUCKET_SECONDS: Record<StatsWindow, number> = { "1h": 60, "24h": 1800, "7d": 6 * 3600 };
const WINDOW_LABELS: Record<StatsWindow, string> = { "1h": "1 hour", "24h": "24 hours", "7d": "7 days" };

export const overviewRoutes = new Hono<AppEnv>();

/** `/ui/`: each backend's health, traffic and savings per window, charts, top artifacts, open breakers. */
overviewRoutes.get("/", async (c) => {
  const windowParam = c.req.query("window");
  const window: StatsWindow = windowParam === "1h" || windowParam === "7d" ? windowParam : "24h";
  const windows = Object.keys(STATS_WINDOWS) as StatsWindow[];
  const [health, stats, breakers] = await Promise.all([backendHealth(c.var.stores), usageStats(c, windows, 10), openBreakers(c.var.stores)]);
  const bucket = BUCKET_SECONDS[window];
  const now = Date.now();
  const first = Math.floor((now - STATS_WINDOWS[window]) / (bucket * 1000)) + 1;
  const last = Math.floor(now / (bucket * 1000));
  const series = new Map((await c.var.stores.meta.usageSeries(new Date(first * bucket * 1000), bucket)).map((row) => [row.bucket.getTime(), row]));
  const bars = Array.from({ length: last - first + 1 }, (_, i) => {
    const start = (first + i) * bucket * 1000;
    const row = series.get(start);
    return { start, totals: row ? summarize(row) : null };
  });
  const label = (start: number) => new Date(start).toISOString().slice(window === "7d" ? 5 : 11, 16).replace("T", " ");
  const selected = stats.windows[window]!;
  const { overall } = selected;

  return render(
    c,
    <Layout title="Overview" session={sessionOf(c)} section="overview">
      <section aria-labelledby="health-heading">
        <h2 id="health-heading">Backends</h2>
        <ul class="grid" role="list">
          {health.backends.map((check) => (
            <li class="card">
              <strong>{check.name}</strong>{" "}
              <span class={`status-${check.status}`}>{check.status === "up" ? "up" : "down"}</span>
              <div class="muted">{check.status === "up" ? `${check.latency_ms} ms` : check.error}</div>
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="breakers-heading">
        <h2 id="breakers-heading">Open circuit breakers</h2>
        {breakers.size === 0 ? (
          <p class="muted">None: every remote's upstream is being asked as usual.</p>
        ) : (
          <ul>
            {[...breakers].map(([name, seconds]) => (
              <li>
                <a href={`/ui/repositories/remotes/${encodeURIComponent(name)}`}>{name}</a>{" "}
                <span class="bad">open</span> for another {seconds} s: answered from cache (or 503) meanwhile
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="traffic-heading">
        <h2 id="traffic-heading">Traffic over the last {WINDOW_LABELS[window]}</h2>
        <nav aria-label="Time window">
          <ul class="inline" role="list">
            {windows.map((w) => (
              <li>
                <a href={`/ui/?window=${w}`} aria-current={w === window ? "page" : undefined}>
                  {WINDOW_LABELS[w]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <dl class="grid">
          {[
            ["Requests", count(overall.requests)],
            ["Hit ratio", ratio(overall.hit_ratio)],
            ["Bytes served", bytes(overall.bytes_served)],
            ["Bytes fetched", bytes(overall.bytes_fetched)],
            ["Bytes saved", bytes(overall.bytes_saved)],
            ["Errors", count(overall.errors)],
          ].map(([term, value]) => (
            <div class="card">
              <dt>{term}</dt>
              <dd class="figure">{value}</dd>
            </div>
          ))}
        </dl>
        <div class="grid">
          <BarChart
            id="chart-requests"
            title="Requests: hits and misses"
            series={[
              { label: "hits", color: "hit" },
              { label: "misses", color: "miss" },
            ]}
            bars={bars.map((bar) => ({ label: label(bar.start), values: [bar.totals?.hits ?? 0, bar.totals?.misses ?? 0] }))}
            format={count}
          />
          <BarChart
            id="chart-bytes"
            title="Bytes served and fetched"
            series={[
              { label: "served", color: "served" },
              { label: "fetched", color: "fetched" },
            ]}
            bars={bars.map((bar) => ({ label: label(bar.start), values: [bar.totals?.bytes_served ?? 0, bar.totals?.bytes_fetched ?? 0] }))}
            format={bytes}
          />
        </div>

        <h3>Every window</h3>
        <DataTable label="Traffic per window" columns={["Window", ["Requests", "num"], ["Hit ratio", "num"], ["Served", "num"], ["Fetched", "num"], ["Saved", "num"], ["Errors", "num"]]}>
          {windows.map((w) => {
            const o = stats.windows[w]!.overall;
            return (
              <tr>
                <th scope="row">{WINDOW_LABELS[w]}</th>
                <td class="num">{count(o.requests)}</td>
                <td class="num">{ratio(o.hit_ratio)}</td>
                <td class="num">{bytes(o.bytes_served)}</td>
                <td class="num">{bytes(o.bytes_fetched)}</td>
                <td class="num">{bytes(o.bytes_saved)}</td>
                <td class="num">{count(o.errors)}</td>
              </tr>
            );
          })}
        </DataTable>

        <h3>Top artifacts</h3>
        {selected.top.length === 0 ? (
          <p class="muted">Nothing served in this window.</p>
        ) : (
          <DataTable label="Top artifacts" columns={["Repository", "Path", ["Requests", "num"], ["Served", "num"]]}>
            {selected.top.map((row) => (
              <tr>
                <td>
                  <a href={`/ui/repositories/remotes/${encodeURIComponent(row.remote)}`}>{row.remote}</a>
                </td>
                <td class="path mono">
                  <a href={`/ui/browse/${encodeURIComponent(row.remote)}?prefix=${encodeURIComponent(row.path)}`}>{row.path}</a>
                </td>
                <td class="num">{count(row.requests)}</td>
                <td class="num">{bytes(row.bytes_served)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>
    </Layout>,
  );
});
