-- Takedown requests. Only salted hashes are kept (HMAC-SHA256 with the pseudonym salt), never the handle or URL.
CREATE TABLE IF NOT EXISTS takedowns (
    key_hash          VARCHAR NOT NULL PRIMARY KEY,
    kind              VARCHAR NOT NULL,
    removed_samples   VARCHAR[],
    removed_counts    JSON,
    reason            VARCHAR,
    requested_at      TIMESTAMPTZ
);
COMMENT ON TABLE takedowns IS 'Forgotten posts and authors: crawls and imports skip what matches (echo.release.forget.is_taken_down).';
COMMENT ON COLUMN takedowns.key_hash IS 'HMAC-SHA256 of kind and the normalized key (platform:post_id, url, or author handle/id)';
COMMENT ON COLUMN takedowns.kind IS 'post, url, author or author_id';
COMMENT ON COLUMN takedowns.removed_samples IS 'salted hashes of the sample ids removed, so a changelog can count them without naming them';
COMMENT ON COLUMN takedowns.removed_counts IS 'rows removed per table, and media files deleted';
