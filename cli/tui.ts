import { ApiClient, readEvents } from "./client.ts";
import { bytes, eventLine, ratio, table } from "./format.ts";

const REFRESH_MS = 2_000;
const RECENT_EVENTS = 12;
const WINDOWS = ["1h", "24h", "7d"] as const;

/**
 * `artifactapi tui`: remotes with their hit ratio, overall numbers and the latest events,
 * redrawn every two seconds; `w` switches the stats window, `q` quits.
 */
export async function runDashboard(client: ApiClient): Promise<void> {
  const out = process.stdout;
  const events: string[] = [];
  let windowIndex = 0;
  let status = "connecting…";
  let body = "";
  let stopped = false;

  const draw = () => {
    const header = `artifactapi dashboard  window ${WINDOWS[windowIndex]}  (w: window, q: quit)  ${status}`;
    const recent = events.slice(-RECENT_EVENTS);
    out.write(`\x1b[H\x1b[2J${header}\n\n${body}\n\nrecent events\n${recent.length > 0 ? recent.join("\n") : "(none yet)"}\n`);
  };

  const refresh = async () => {
    try {
      const window = WINDOWS[windowIndex]!;
      const [remotes, stats] = await Promise.all([client.request("GET", "/remotes"), client.request("GET", `/stats?window=${window}`)]);
      const data = stats.windows[window];
      const rows = remotes.remotes.map((remote: any) => {
        const s = data.remotes[remote.name] ?? {};
        return [remote.name, remote.package, s.requests ?? 0, ratio(s.hit_ratio), s.errors ?? 0, bytes(s.bytes_served ?? 0), bytes(s.bytes_saved ?? 0)];
      });
      const o = data.overall;
      body = `${table(["REMOTE", "PACKAGE", "REQUESTS", "HIT RATIO", "ERRORS", "SERVED", "SAVED"], rows)}\n\noverall: ${o.requests} requests, hit ratio ${ratio(o.hit_ratio)}, ${bytes(o.bytes_served)} served, ${bytes(o.bytes_saved)} saved`;
      status = `updated ${new Date().toISOString().slice(11, 19)}`;
    } catch (error) {
      status = `error: ${(error as Error).message}`;
    }
    draw();
  };

  const follow = async () => {
    let lastId: string | undefined;
    while (!stopped) {
      try {
        const response = await client.raw("GET", "/events?backlog=10", undefined, lastId ? { "last-event-id": lastId } : {});
        for await (const event of readEvents(response.body!)) {
          if (stopped) return;
          lastId = event.id || lastId;
          events.push(eventLine(JSON.parse(event.data)));
          if (events.length > RECENT_EVENTS) events.shift();
          draw();
        }
      } catch (error) {
        status = `events: ${(error as Error).message}`;
        await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
      }
    }
  };

  out.write("\x1b[?1049h\x1b[?25l");
  const restore = () => out.write("\x1b[?25h\x1b[?1049l");
  const done = new Promise<void>((resolve) => {
    const quit = () => {
      stopped = true;
      clearInterval(timer);
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
      restore();
      resolve();
    };
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    if (process.stdin.isTTY) process.stdin.setRawMode(true);
    process.stdin.on("data", (key: Buffer) => {
      const k = key.toString();
      if (k === "q" || k === "\u0003") quit();
      else if (k === "w") {
        windowIndex = (windowIndex + 1) % WINDOWS.length;
        void refresh();
      }
    });
    process.on("SIGTERM", quit);
  });
  await refresh();
  void follow();
  await done;
  // The event stream may still be open: end the process rather than wait for it.
  process.exit(0);
}
