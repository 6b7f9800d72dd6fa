-- Docker locals' upload sessions (issue 11): a blob pushed in chunks (POST, PATCH…, PUT ?digest=)
-- spans several requests, which a stateless Worker cannot hold, so the session is a row and each
-- chunk a blob under uploads/ (complete, hashed). The PUT assembles the chunks and checks the
-- digest. A session nobody writes to any more is removed by the maintenance sweep, its chunks with
-- the other abandoned uploads.
CREATE TABLE IF NOT EXISTS local_upload_sessions (
  local        text NOT NULL,
  id           text NOT NULL,
  repository   text NOT NULL,
  started_by   text NOT NULL,
  -- In order: [{"key": "uploads/…", "sha256": "…", "size": n}]
  chunks       jsonb NOT NULL DEFAULT '[]'::jsonb,
  size         bigint NOT NULL DEFAULT 0,
  started_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (local, id)
);
CREATE INDEX IF NOT EXISTS local_upload_sessions_updated ON local_upload_sessions (updated_at);
