-- Local repositories' folder pages (issue 11): a folder is a range of paths only bytewise
-- (COLLATE "C", whatever the database's collation), which the primary key (local, path) is not.
-- LocalStore.listLocalFolder walks this index a probe per entry instead of reading every file below.
CREATE INDEX IF NOT EXISTS local_files_path_bytewise ON local_files (local, (path COLLATE "C"));
