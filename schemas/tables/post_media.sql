CREATE TABLE IF NOT EXISTS post_media (
    platform   VARCHAR NOT NULL,
    post_id    VARCHAR NOT NULL,
    url        VARCHAR NOT NULL,
    position   INTEGER NOT NULL,
    alt_text   VARCHAR,
    PRIMARY KEY (platform, post_id, url)
);
COMMENT ON TABLE post_media IS 'Which images a post carries, in order, with the author''s alt text.';
