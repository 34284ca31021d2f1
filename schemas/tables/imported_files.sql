CREATE TABLE IF NOT EXISTS imported_files (
    source       VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,
    platform     VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    posts        INTEGER,
    media        INTEGER,
    errors       INTEGER,
    imported_at  TIMESTAMPTZ,
    run_id       VARCHAR,
    PRIMARY KEY (source, path)
);
COMMENT ON TABLE imported_files IS 'Raw API response files read by an import source; a file whose sha256 is unchanged is not read again.';
COMMENT ON COLUMN imported_files.path IS 'file path as configured (relative to the config folder when it was given relative)';
