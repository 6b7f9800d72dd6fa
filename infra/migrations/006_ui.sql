-- Web UI (issue 13): the Browse page's sorts, each a keyset walk of one index. Paths sort
-- bytewise (COLLATE "C") so that a prefix is one contiguous range whatever the database's
-- collation; every index ends in (path, cache_key), the tie-breakers of the cursor.
CREATE INDEX IF NOT EXISTS artifacts_browse_path ON artifacts (remote, (path COLLATE "C"), cache_key);
CREATE INDEX IF NOT EXISTS artifacts_browse_size ON artifacts (remote, size, (path COLLATE "C"), cache_key);
CREATE INDEX IF NOT EXISTS artifacts_browse_hits ON artifacts (remote, hits, (path COLLATE "C"), cache_key);
-- "Last access" of an object never served since it was fetched is its fetch time.
CREATE INDEX IF NOT EXISTS artifacts_browse_last_access ON artifacts (remote, (coalesce(last_access, fetched_at)), (path COLLATE "C"), cache_key);
