-- Virtuals named in the remotes file are managed by the file, as its remotes are (003).
ALTER TABLE virtuals ADD COLUMN IF NOT EXISTS managed_by text NOT NULL DEFAULT 'api';
