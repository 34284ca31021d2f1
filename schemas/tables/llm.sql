CREATE TABLE IF NOT EXISTS llm_cache (
    cache_key         VARCHAR NOT NULL PRIMARY KEY,
    stage             VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    template_version  VARCHAR NOT NULL,
    input_hash        VARCHAR NOT NULL,
    response          JSON,
    tokens_in         INTEGER,
    tokens_out        INTEGER,
    created_at        TIMESTAMPTZ
);
COMMENT ON TABLE llm_cache IS 'Validated LLM answers keyed by model, template version and input hash: a re-run on unchanged input makes no call.';
CREATE TABLE IF NOT EXISTS llm_usage (
    run_id      VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    calls       INTEGER NOT NULL,
    cache_hits  INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    tokens_in   BIGINT NOT NULL,
    tokens_out  BIGINT NOT NULL,
    PRIMARY KEY (run_id, stage, model)
);
COMMENT ON TABLE llm_usage IS 'Calls and tokens per run, stage and model (rule-based backend counts calls with zero tokens).';
CREATE TABLE IF NOT EXISTS llm_failures (
    failure_id  VARCHAR NOT NULL PRIMARY KEY,
    run_id      VARCHAR,
    stage       VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    item_key    VARCHAR NOT NULL,
    error       VARCHAR,
    raw_answer  VARCHAR,
    recorded_at TIMESTAMPTZ
);
COMMENT ON TABLE llm_failures IS 'Answers that failed validation twice (or refusals), with the raw text; the item is retried next run.';
