-- Remotes config: the source of truth. The Worker caches it per isolate and reloads
-- when the state store's config version changes.
CREATE TABLE IF NOT EXISTS remotes (
  name        text PRIMARY KEY,
  config      jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per cached path: what the management API browses and evicts.
CREATE TABLE IF NOT EXISTS artifacts (
  remote        text NOT NULL,
  cache_key     text NOT NULL,
  path          text NOT NULL,
  sha256        text NOT NULL,
  size          bigint NOT NULL,
  content_type  text NOT NULL,
  fetched_at    timestamptz NOT NULL,
  PRIMARY KEY (remote, cache_key)
);
CREATE INDEX IF NOT EXISTS artifacts_sha256 ON artifacts (sha256);

-- The state store when no Redis is configured (the embedded default).
CREATE TABLE IF NOT EXISTS state_kv (
  key         text PRIMARY KEY,
  value       text NOT NULL,
  expires_at  timestamptz
);
CREATE INDEX IF NOT EXISTS state_kv_expires_at ON state_kv (expires_at) WHERE expires_at IS NOT NULL;
