CREATE TABLE IF NOT EXISTS crawl_cursors (
    source      VARCHAR NOT NULL,
    query       VARCHAR NOT NULL,
    cursor      VARCHAR,
    watermark   VARCHAR,
    updated_at  TIMESTAMPTZ,
    run_id      VARCHAR,
    PRIMARY KEY (source, query)
);
COMMENT ON TABLE crawl_cursors IS 'Incremental crawl state per source and query: a paging cursor and a high watermark (newest id or time seen).';
