CREATE TABLE IF NOT EXISTS relevance (
    platform        VARCHAR NOT NULL,
    post_id         VARCHAR NOT NULL,
    judge           VARCHAR NOT NULL,
    score           INTEGER,
    passed          BOOLEAN NOT NULL,
    reason          VARCHAR,
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    run_id          VARCHAR,
    PRIMARY KEY (platform, post_id, judge)
);
COMMENT ON TABLE relevance IS 'Filter decisions per post and judge: cheap (rules), prefilter (classifier) and llm (1-5 score).';
COMMENT ON COLUMN relevance.judge IS 'cheap, prefilter or llm';
COMMENT ON COLUMN relevance.score IS '1 coincidental mention .. 5 clearly this model''s image generation (NULL for cheap filters)';
COMMENT ON COLUMN relevance.model IS 'model or backend that decided (rules:<version> for the offline backend)';
