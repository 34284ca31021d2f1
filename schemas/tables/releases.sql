CREATE TABLE IF NOT EXISTS releases (
    version         VARCHAR NOT NULL PRIMARY KEY,
    parent_version  VARCHAR,
    path            VARCHAR NOT NULL,
    content_hash    VARCHAR NOT NULL,
    config_hash     VARCHAR,
    code_version    VARCHAR,
    manifest        JSON NOT NULL,
    run_id          VARCHAR,
    created_at      TIMESTAMPTZ
);
COMMENT ON TABLE releases IS 'Frozen benchmark releases; the files under path are immutable.';
COMMENT ON COLUMN releases.content_hash IS 'hash over the release files; a refresh with unchanged content makes no new release';
