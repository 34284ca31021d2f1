CREATE TABLE IF NOT EXISTS llm_cache (
    cache_key         VARCHAR NOT NULL PRIMARY KEY,
    step              VARCHAR NOT NULL,
    model             VARCHAR NOT NULL,
    template_version  VARCHAR NOT NULL,
    input_hash        VARCHAR NOT NULL,
    response          JSON,
    tokens_in         INTEGER,
    tokens_out        INTEGER,
    created_at        TIMESTAMPTZ
);
COMMENT ON TABLE llm_cache IS 'Validated LLM answers keyed by model, template version and input hash: a re-run on unchanged input makes no call.';
