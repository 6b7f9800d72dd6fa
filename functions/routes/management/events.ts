import { Hono, type Context } from "hono";
import { z } from "zod";
import type { StoredEvent } from "../../../infra/meta/types.ts";
import type { AppEnv } from "../../context.ts";
import { jsonError } from "../../errors.ts";
import { parseQuery } from "./body.ts";

export const eventsRoutes = new Hono<AppEnv>();

const POLL_MS = 1_000;
const KEEPALIVE_MS = 15_000;
const PAGE = 200;

export const eventsQuery = z.object({
  /** Seconds before the server ends the stream (clients reconnect with Last-Event-ID). */
  timeout: z.coerce.number().int().min(1).max(300).default(300),
  /** Without Last-Event-ID: also send up to this many past events first. */
  backlog: z.coerce.number().int().min(0).max(PAGE).default(0),
});

/**
 * Server-Sent Events from the event log. The stream polls Postgres once a second and ends
 * after `timeout` seconds, so no request lives forever; `Last-Event-ID` (sent by EventSource
 * when it reconnects) resumes exactly after the last event received.
 */
eventsRoutes.get("/", async (c) => {
  const query = parseQuery(c, eventsQuery);
  if (query instanceof Response) return query;
  const resumeHeader = c.req.header("last-event-id");
  if (resumeHeader !== undefined && !/^\d+$/.test(resumeHeader)) return jsonError(400, "BAD_EVENT_ID", "Last-Event-ID must be an event id");
  const lastId = resumeHeader !== undefined ? Number(resumeHeader) : Math.max(0, (await c.var.stores.meta.lastEventId()) - query.backlog);
  return eventStream(c, lastId, query.timeout);
});

/**
 * The event log as an SSE stream, resuming after `afterId` and ending after `timeoutSeconds`
 * (the API's /events and the web UI's live events page). `named`: each event under its type's
 * name (`event: fetch.finished`); else all as plain messages, which one EventSource listener gets.
 */
export function eventStream(c: Context<AppEnv>, afterId: number, timeoutSeconds: number, named = true): Response {
  const { meta } = c.var.stores;
  let lastId = afterId;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const encoder = new TextEncoder();
  let stopped = false;
  let finished: () => void = () => {};
  // The stores stay open until the stream ends: the middleware closes them after background work.
  c.var.background.run(new Promise<void>((resolve) => (finished = resolve)));
  let lastWrite = Date.now();

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: 2000\n: stream open, resuming after ${lastId}\n\n`));
    },
    async pull(controller) {
      for (;;) {
        if (stopped || Date.now() >= deadline) {
          if (!stopped) controller.close();
          finished();
          return;
        }
        const events = await meta.eventsAfter(lastId, PAGE).catch(() => []);
        if (events.length > 0) {
          lastId = events[events.length - 1]!.id;
          lastWrite = Date.now();
          controller.enqueue(encoder.encode(events.map((event) => format(event, named)).join("")));
          return;
        }
        if (Date.now() - lastWrite >= KEEPALIVE_MS) {
          lastWrite = Date.now();
          controller.enqueue(encoder.encode(": keepalive\n\n"));
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
      }
    },
    cancel() {
      stopped = true;
      finished();
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" },
  });
}

/** An event as the stream (and the web UI) shows it: its id, time, type, remote and data in one object. */
export function eventData(event: StoredEvent): Record<string, unknown> {
  return { id: event.id, at: event.at.toISOString(), type: event.type, remote: event.remote ?? null, ...event.data };
}

function format(event: StoredEvent, named: boolean): string {
  return `id: ${event.id}\n${named ? `event: ${event.type}\n` : ""}data: ${JSON.stringify(eventData(event))}\n\n`;
}
