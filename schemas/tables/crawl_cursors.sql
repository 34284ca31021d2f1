CREATE TABLE IF NOT EXISTS crawl_cursors (
    source      VARCHAR NOT NULL,
    query       VARCHAR NOT NULL,
    cursor      VARCHAR,
    watermark   VARCHAR,
    updated_at  TIMESTAMPTZ,
    run_id      VARCHAR,
    sweep_newest VARCHAR,
    PRIMARY KEY (source, query)
);
COMMENT ON TABLE crawl_cursors IS 'Incremental crawl state per source and query: a paging cursor and a high watermark (newest id or time seen).';
COMMENT ON COLUMN crawl_cursors.cursor IS 'where an unfinished sweep resumes (next page token); NULL when the last sweep completed';
COMMENT ON COLUMN crawl_cursors.watermark IS 'newest id or time of the last completed sweep: the next sweep stops there';
COMMENT ON COLUMN crawl_cursors.sweep_newest IS 'newest id or time seen by the unfinished sweep; becomes the watermark when it completes';
