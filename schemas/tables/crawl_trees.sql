CREATE TABLE IF NOT EXISTS crawl_trees (
    source      VARCHAR NOT NULL,
    platform    VARCHAR NOT NULL,
    root_id     VARCHAR NOT NULL,
    hit_id      VARCHAR,
    posts       INTEGER,
    fetched_at  TIMESTAMPTZ,
    run_id      VARCHAR,
    PRIMARY KEY (source, platform, root_id)
);
COMMENT ON TABLE crawl_trees IS 'Post trees (threads, conversations) whose context the crawl has fetched: each is fetched once.';
COMMENT ON COLUMN crawl_trees.root_id IS 'root of the tree (or the hit itself when its root is unknown)';
COMMENT ON COLUMN crawl_trees.hit_id IS 'the search hit that made the tree a candidate';
COMMENT ON COLUMN crawl_trees.posts IS 'posts the tree fetch returned';
