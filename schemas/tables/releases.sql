CREATE TABLE IF NOT EXISTS releases (
    version         VARCHAR NOT NULL PRIMARY KEY,
    parent_version  VARCHAR,
    path            VARCHAR NOT NULL,
    content_hash    VARCHAR NOT NULL,
    config_hash     VARCHAR,
    code_version    VARCHAR,
    manifest        JSON NOT NULL,
    run_id          VARCHAR,
    created_at      TIMESTAMPTZ,
    manifest_sha256 VARCHAR,
    status          VARCHAR
);
COMMENT ON TABLE releases IS 'Frozen benchmark releases; the files under path are immutable.';
COMMENT ON COLUMN releases.content_hash IS 'sha256 over the rows (canonical JSON): the anchor echo.load and verify check a folder against (also in CHANGELOG.md and the dataset card); a refresh with unchanged content makes no new release';
COMMENT ON COLUMN releases.created_at IS 'freeze time (kept here only: the release files carry no timestamps)';
COMMENT ON COLUMN releases.manifest_sha256 IS 'sha256 of manifest.json as written: verify detects an edited manifest';
COMMENT ON COLUMN releases.status IS 'ok, or missing when recovery found the folder gone (back to ok once it is restored and verifies)';
