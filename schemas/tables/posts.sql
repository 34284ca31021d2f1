-- One row per post on any platform. Upserted: a post seen again refreshes its counts, never adds a row.
CREATE TABLE IF NOT EXISTS posts (
    platform      VARCHAR NOT NULL,
    post_id       VARCHAR NOT NULL,
    url           VARCHAR,
    author        VARCHAR,
    author_id     VARCHAR,
    created_at    TIMESTAMPTZ,
    text          VARCHAR,
    lang          VARCHAR,
    like_count    BIGINT,
    repost_count  BIGINT,
    reply_count   BIGINT,
    quote_count   BIGINT,
    parent_id     VARCHAR,
    root_id       VARCHAR,
    quoted_id     VARCHAR,
    raw           JSON,
    fetched_at    TIMESTAMPTZ,
    query         VARCHAR,
    source        VARCHAR,
    run_id        VARCHAR,
    last_run_id   VARCHAR,
    PRIMARY KEY (platform, post_id)
);
COMMENT ON TABLE posts IS 'Every post crawled or imported, normalized across platforms; trees via parent_id/root_id/quoted_id.';
COMMENT ON COLUMN posts.platform IS 'x, bluesky, reddit, mastodon or hackernews';
COMMENT ON COLUMN posts.post_id IS 'platform-native id: tweet id, at:// URI, reddit fullname (t3_/t1_), status id, HN item id';
COMMENT ON COLUMN posts.author IS 'handle as shown on the platform (pseudonymized only in releases)';
COMMENT ON COLUMN posts.parent_id IS 'post this one replies to (same platform)';
COMMENT ON COLUMN posts.root_id IS 'root of the reply tree (equals post_id for a root)';
COMMENT ON COLUMN posts.quoted_id IS 'post this one quotes or reposts with comment';
COMMENT ON COLUMN posts.raw IS 'the platform item as received, for re-parsing and audits';
COMMENT ON COLUMN posts.query IS 'search query that first found the post (NULL when fetched as tree context)';
COMMENT ON COLUMN posts.source IS 'configured source name that stored the post';
COMMENT ON COLUMN posts.run_id IS 'run that first stored the post';
COMMENT ON COLUMN posts.last_run_id IS 'run that last saw the post';
