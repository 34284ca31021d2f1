CREATE TABLE IF NOT EXISTS crawl_errors (
    error_id   VARCHAR NOT NULL PRIMARY KEY,
    source     VARCHAR NOT NULL,
    query      VARCHAR,
    kind       VARCHAR NOT NULL,
    message    VARCHAR,
    raw        VARCHAR,
    run_id     VARCHAR,
    recorded_at TIMESTAMPTZ
);
COMMENT ON TABLE crawl_errors IS 'Items or pages that could not be parsed, kept raw so nothing is lost; and blocked responses.';
COMMENT ON COLUMN crawl_errors.kind IS 'malformed_page, bad_item, unknown_embed, too_large (an imported file over max_file_bytes), blocked, http_error';
