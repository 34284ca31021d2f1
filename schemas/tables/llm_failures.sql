CREATE TABLE IF NOT EXISTS llm_failures (
    failure_id  VARCHAR NOT NULL PRIMARY KEY,
    run_id      VARCHAR,
    step        VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    item_key    VARCHAR NOT NULL,
    error       VARCHAR,
    raw_answer  VARCHAR,
    recorded_at TIMESTAMPTZ
);
COMMENT ON TABLE llm_failures IS 'Answers that failed validation twice (or refusals), with the raw text; the item is retried next run.';
