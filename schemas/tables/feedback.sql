CREATE TABLE IF NOT EXISTS feedback (
    platform        VARCHAR NOT NULL,
    post_id         VARCHAR NOT NULL,
    sample_id       VARCHAR NOT NULL,
    polarity        VARCHAR NOT NULL,
    keywords        VARCHAR[],
    categories      VARCHAR[],
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    run_id          VARCHAR,
    PRIMARY KEY (platform, post_id, sample_id)
);
COMMENT ON TABLE feedback IS 'Community judgements: a reply or quote that judges a sample.';
COMMENT ON COLUMN feedback.polarity IS 'success, failure or neutral';
COMMENT ON COLUMN feedback.categories IS 'from the fixed list: identity, color shift, text rendering, aspect ratio, proportions, structure, style, detail, coherence, other';
