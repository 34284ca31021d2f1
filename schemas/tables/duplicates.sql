CREATE TABLE IF NOT EXISTS duplicates (
    sample_id            VARCHAR NOT NULL PRIMARY KEY,
    group_id             VARCHAR NOT NULL,
    canonical_sample_id  VARCHAR NOT NULL,
    is_canonical         BOOLEAN NOT NULL,
    method               VARCHAR,
    similarity           DOUBLE,
    matched_sample_id    VARCHAR,
    run_id               VARCHAR,
    group_size           INTEGER,
    input_hash           VARCHAR
);
COMMENT ON TABLE duplicates IS 'Duplicate groups over every non-trash sample (a sample without duplicates is the canonical of its own group of 1); one canonical per group, every drop with its reason.';
COMMENT ON COLUMN duplicates.group_id IS 'g + hash of the smallest sample_id in the group; samples sharing it must share a release split';
COMMENT ON COLUMN duplicates.canonical_sample_id IS 'the kept sample of the group: best quality, then evidence, engagement, earliest post, sample_id';
COMMENT ON COLUMN duplicates.method IS 'exact (normalized prompt hash), text (embedding cosine) or image (pHash Hamming); NULL for a canonical';
COMMENT ON COLUMN duplicates.similarity IS 'cosine similarity, or 1 - hamming/64 for images, of the pair that joined this sample';
COMMENT ON COLUMN duplicates.matched_sample_id IS 'the sample it was found to duplicate (its link on the strongest path to the canonical)';
COMMENT ON COLUMN duplicates.group_size IS 'number of samples in the group';
COMMENT ON COLUMN duplicates.input_hash IS 'hash of the inputs and settings of the dedup pass that wrote the row; unchanged input skips the pass';
