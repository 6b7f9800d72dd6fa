-- Management API (issue 5): virtual repositories, usage counters, the event log.

CREATE TABLE IF NOT EXISTS virtuals (
  name        text PRIMARY KEY,
  config      jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-object use, added to in batches after responses (never on the hit path itself).
ALTER TABLE artifacts ADD COLUMN IF NOT EXISTS hits bigint NOT NULL DEFAULT 0;
ALTER TABLE artifacts ADD COLUMN IF NOT EXISTS last_access timestamptz;
CREATE INDEX IF NOT EXISTS artifacts_remote_path ON artifacts (remote, path, cache_key);

-- Request counters per remote and minute; windows (1 h, 24 h, 7 d) are sums over them.
CREATE TABLE IF NOT EXISTS usage_minutes (
  remote          text NOT NULL,
  minute          timestamptz NOT NULL,
  requests        bigint NOT NULL DEFAULT 0,
  hits            bigint NOT NULL DEFAULT 0,
  misses          bigint NOT NULL DEFAULT 0,
  errors          bigint NOT NULL DEFAULT 0,
  bytes_served    bigint NOT NULL DEFAULT 0,
  bytes_fetched   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (remote, minute)
);
CREATE INDEX IF NOT EXISTS usage_minutes_minute ON usage_minutes (minute);

-- Requests per artifact and hour, for the "top artifacts" of each window.
CREATE TABLE IF NOT EXISTS artifact_usage_hours (
  remote        text NOT NULL,
  path          text NOT NULL,
  hour          timestamptz NOT NULL,
  requests      bigint NOT NULL DEFAULT 0,
  bytes_served  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (remote, path, hour)
);
CREATE INDEX IF NOT EXISTS artifact_usage_hours_hour ON artifact_usage_hours (hour);

-- The live event stream; the id is the SSE event id (Last-Event-ID resumes after it).
CREATE TABLE IF NOT EXISTS events (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  type    text NOT NULL,
  remote  text,
  data    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
