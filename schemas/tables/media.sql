-- One row per image URL. Files are content-addressed: identical bytes from several URLs share one file.
CREATE TABLE IF NOT EXISTS media (
    url           VARCHAR NOT NULL PRIMARY KEY,
    status        VARCHAR NOT NULL,
    error         VARCHAR,
    sha256        VARCHAR,
    path          VARCHAR,
    thumb_path    VARCHAR,
    content_type  VARCHAR,
    format        VARCHAR,
    size_bytes    BIGINT,
    width         INTEGER,
    height        INTEGER,
    phash         VARCHAR,
    parent_url    VARCHAR,
    crop_box      INTEGER[],
    fetched_at    TIMESTAMPTZ,
    run_id        VARCHAR,
    attempts      INTEGER,
    retryable     BOOLEAN,
    final_url     VARCHAR,
    is_screenshot BOOLEAN
);
COMMENT ON TABLE media IS 'Images referenced by posts, and crops cut from chat screenshots.';
COMMENT ON COLUMN media.status IS 'pending, ok or failed';
COMMENT ON COLUMN media.error IS 'why a download or decode failed';
COMMENT ON COLUMN media.sha256 IS 'sha256 of the stored bytes (content address)';
COMMENT ON COLUMN media.path IS 'file under the media store, relative to it';
COMMENT ON COLUMN media.phash IS 'perceptual hash (64-bit pHash, hex) for near-duplicate images';
COMMENT ON COLUMN media.parent_url IS 'for a crop: the screenshot it was cut from';
COMMENT ON COLUMN media.crop_box IS 'for a crop: [left, top, right, bottom] in the parent screenshot';
COMMENT ON COLUMN media.thumb_path IS 'WEBP thumbnail (at most media.thumb_size px) under the media store, relative to it';
COMMENT ON COLUMN media.format IS 'decoded format: PNG, JPEG, WEBP, GIF or BMP (the file extension follows it, not the URL)';
COMMENT ON COLUMN media.width IS 'pixels after EXIF orientation was applied';
COMMENT ON COLUMN media.attempts IS 'downloads tried and failed so far (runs); a transient failure is retried until media.max_retries';
COMMENT ON COLUMN media.retryable IS 'the last failure was transient (timeout, connection, HTTP 5xx/429) and is retried next run';
COMMENT ON COLUMN media.final_url IS 'URL after redirects (every hop was re-checked)';
COMMENT ON COLUMN media.is_screenshot IS 'looks like a chat-window screenshot (heuristic); NULL when not checked';
