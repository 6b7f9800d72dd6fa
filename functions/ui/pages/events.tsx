import { Hono } from "hono";
import type { AppEnv } from "../../context.ts";
import { eventData, eventStream } from "../../routes/management/events.ts";
import { Layout, render } from "../layout.tsx";
import { listRepositories } from "../repositories.ts";
import { sessionOf } from "../session.ts";

/** Event types the filter offers (others that appear in the log are offered too). */
const KNOWN_TYPES = ["fetch.started", "fetch.finished", "fetch.failed", "eviction", "config.changed", "breaker.opened", "breaker.closed", "upload.finished", "upload.deleted"];
const RECENT = 200;

export const eventsRoutes = new Hono<AppEnv>();

/**
 * `/ui/events`: the most recent events, filtered by repository and type (a plain GET form, so it
 * works without JavaScript); the script then follows the live stream from the newest one shown.
 */
eventsRoutes.get("/", async (c) => {
  const repository = c.req.query("repository") ?? "";
  const type = c.req.query("type") ?? "";
  const { meta } = c.var.stores;
  const lastId = await meta.lastEventId();
  const [recent, repositories] = await Promise.all([meta.eventsAfter(Math.max(0, lastId - RECENT), RECENT), listRepositories(c.var.stores)]);
  const types = [...new Set([...KNOWN_TYPES, ...recent.map((event) => event.type)])];
  const shown = recent.filter((event) => (!repository || event.remote === repository) && (!type || event.type === type)).reverse();

  return render(
    c,
    <Layout title="Live events" session={sessionOf(c)} section="events">
      <form id="event-filters" method="get" action="/ui/events" class="inline">
        <div class="field">
          <label for="filter-repository">Repository</label>
          <select id="filter-repository" name="repository">
            <option value="">all</option>
            {repositories.map((r) => (
              <option value={r.name} selected={r.name === repository}>
                {r.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-type">Event type</label>
          <select id="filter-type" name="type">
            <option value="">all</option>
            {types.map((t) => (
              <option value={t} selected={t === type}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
        <button type="button" id="event-toggle" class="secondary" aria-pressed="false" hidden>
          Pause
        </button>
      </form>
      <p>
        <span id="event-state" role="status" class="muted">
          Showing the {RECENT} most recent events; with JavaScript on, new ones appear as they happen.
        </span>
      </p>
      <ol id="event-list" data-last-id={String(lastId)} aria-label="Events, newest first">
        {shown.map((event) => {
          const { id: _id, at: _at, type: _type, remote: _remote, ...rest } = eventData(event);
          return (
            <li data-repository={event.remote ?? ""} data-type={event.type}>
              <time datetime={event.at.toISOString()}>{event.at.toISOString().slice(11, 19)}</time> <strong>{event.type}</strong>{" "}
              <span class="mono">
                {event.remote ? `${event.remote} ` : ""}
                {typeof rest.path === "string" ? `${rest.path} ` : ""}
                {JSON.stringify(rest)}
              </span>
            </li>
          );
        })}
      </ol>
    </Layout>,
  );
});

/** The live stream for the page's script: the session is its credential (EventSource sends no Authorization header). */
eventsRoutes.get("/stream", (c) => {
  const resume = c.req.header("last-event-id") ?? c.req.query("after") ?? "";
  if (!/^\d+$/.test(resume)) return c.text("after (or Last-Event-ID) must be an event id", 400);
  return eventStream(c, Number(resume), 300, false);
});
