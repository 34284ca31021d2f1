CREATE TABLE IF NOT EXISTS llm_usage (
    run_id      VARCHAR NOT NULL,
    step        VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    calls       INTEGER NOT NULL,
    cache_hits  INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    tokens_in   BIGINT NOT NULL,
    tokens_out  BIGINT NOT NULL,
    PRIMARY KEY (run_id, step, model)
);
COMMENT ON TABLE llm_usage IS 'Calls and tokens per run, LLM step and model (rule-based backend counts calls with zero tokens).';
