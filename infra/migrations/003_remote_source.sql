-- Remotes named in the remotes file are managed by the file (applied at every start);
-- remotes created through the management API are left alone by it.
ALTER TABLE remotes ADD COLUMN IF NOT EXISTS managed_by text NOT NULL DEFAULT 'api';
