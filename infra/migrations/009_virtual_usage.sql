-- Virtual repositories (issue 12): what a virtual served comes from one of its members; the
-- hourly counters of a virtual's paths say which (the latest member, when several served it).
ALTER TABLE artifact_usage_hours ADD COLUMN IF NOT EXISTS member text;
