CREATE TABLE IF NOT EXISTS embeddings (
    text_hash   VARCHAR NOT NULL,
    model       VARCHAR NOT NULL,
    dim         INTEGER NOT NULL,
    vector      FLOAT[] NOT NULL,
    created_at  TIMESTAMPTZ,
    PRIMARY KEY (text_hash, model)
);
COMMENT ON TABLE embeddings IS 'Embedding cache keyed by the hash of the normalized text and the model: nothing is embedded twice.';
COMMENT ON COLUMN embeddings.text_hash IS 'sha256 prefix of the text after NFKC and whitespace collapsing (echo.dedup.normalize.normalize_for_embedding)';
COMMENT ON COLUMN embeddings.model IS 'embed.model setting that produced the vector (all-MiniLM-L6-v2 is the bundled default)';
COMMENT ON COLUMN embeddings.vector IS 'L2-normalized; length dim (a list, so models of any dimension share the table)';
