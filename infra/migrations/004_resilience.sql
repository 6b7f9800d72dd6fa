-- The miss path rebuilt for faults (issue 9).

-- The index entry an artifact was committed with, so hits are still served (with the same
-- headers) while the state store is down, and the state store can be refilled from it.
ALTER TABLE artifacts ADD COLUMN IF NOT EXISTS entry jsonb;

-- Multipart uploads in progress: a worker killed mid-fill cannot abort its own, so a sweep
-- aborts the ones older than any fill may run.
CREATE TABLE IF NOT EXISTS open_uploads (
  key         text PRIMARY KEY,
  upload_id   text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS open_uploads_started_at ON open_uploads (started_at);

-- Retention (max_size, unused_ttl) evicts the least recently used first.
CREATE INDEX IF NOT EXISTS artifacts_remote_last_used ON artifacts (remote, (coalesce(last_access, fetched_at)));
