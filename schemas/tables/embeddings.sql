CREATE TABLE IF NOT EXISTS embeddings (
    text_hash   VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    dim         INTEGER NOT NULL,
    vector      FLOAT[] NOT NULL,
    created_at  TIMESTAMPTZ,
    PRIMARY KEY (text_hash, model)
);
COMMENT ON TABLE embeddings IS 'Embedding cache keyed by the hash of the normalized text and the model: nothing is embedded twice.';
