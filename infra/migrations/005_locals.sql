-- Local repositories (issue 11): what teams publish. These rows are the source of truth; the
-- bytes are in the blob store at blobs/sha256/<sha256> (shared with the cache: identical bytes,
-- one blob); the state store only caches what is read here. A local's config lives in `remotes`
-- (type: local); its rows outlive the config, so deleting and re-creating a local loses nothing.
--
-- How each package type maps onto the tables:
--   generic  files only (package and version NULL)
--   npm      package = name (@scope/name), version = semver with its manifest, tags = dist-tags,
--            files = tarballs of a version
--   pypi     package = normalised project name (display_name as uploaded), version = release with
--            its core metadata, files = wheels and sdists (metadata: requires_python, filetype…)
--   helm     package = chart, version = chart version with Chart.yaml, files = .tgz (and .prov)
--   docker   package = repository, version = manifest digest with media type and references,
--            tags = tags → digest, files = blobs (version NULL) and manifests (version = digest)

CREATE TABLE IF NOT EXISTS local_packages (
  local         text NOT NULL,
  name          text NOT NULL,
  display_name  text NOT NULL,
  -- Package-level fields an index shows (npm readme, description, maintainers…).
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Bumped by every change to the package, its versions or tags: npm's _rev, and what a
  -- generated index is cached under.
  revision      bigint NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (local, name)
);

CREATE TABLE IF NOT EXISTS local_versions (
  local         text NOT NULL,
  package       text NOT NULL,
  version       text NOT NULL,
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  published_by  text NOT NULL,
  published_at  timestamptz NOT NULL DEFAULT now(),
  -- Unpublished: the row stays so that the version can never be published again (npm's rule),
  -- and indexes leave it out.
  deleted_at    timestamptz,
  PRIMARY KEY (local, package, version),
  FOREIGN KEY (local, package) REFERENCES local_packages (local, name) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS local_tags (
  local       text NOT NULL,
  package     text NOT NULL,
  tag         text NOT NULL,
  version     text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (local, package, tag),
  FOREIGN KEY (local, package, version) REFERENCES local_versions (local, package, version) ON DELETE CASCADE
);

-- Every stored file of every local, by its path below the local's URL. A row is written only
-- once its bytes are at their content address, so a row always means a complete file.
CREATE TABLE IF NOT EXISTS local_files (
  local         text NOT NULL,
  path          text NOT NULL,
  sha256        text NOT NULL,
  size          bigint NOT NULL,
  content_type  text NOT NULL,
  uploaded_by   text NOT NULL,
  uploaded_at   timestamptz NOT NULL DEFAULT now(),
  -- The package (and version) the file belongs to; NULL for generic files. Deleting a version
  -- deletes its files explicitly (their blobs may have to go), never by cascade.
  package       text,
  version       text,
  -- Per-file facts an index shows (PyPI requires_python and filetype, a docker media type…).
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Downloads, added in batches by the stats flush as for cached artifacts.
  hits          bigint NOT NULL DEFAULT 0,
  last_access   timestamptz,
  PRIMARY KEY (local, path),
  FOREIGN KEY (local, package, version) REFERENCES local_versions (local, package, version)
);
CREATE INDEX IF NOT EXISTS local_files_sha256 ON local_files (sha256);
CREATE INDEX IF NOT EXISTS local_files_version ON local_files (local, package, version) WHERE package IS NOT NULL;

-- Uploads in the per-minute counters (stats).
ALTER TABLE usage_minutes ADD COLUMN IF NOT EXISTS uploads bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_minutes ADD COLUMN IF NOT EXISTS bytes_uploaded bigint NOT NULL DEFAULT 0;
