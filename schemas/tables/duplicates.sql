CREATE TABLE IF NOT EXISTS duplicates (
    sample_id            VARCHAR NOT NULL PRIMARY KEY,
    group_id             VARCHAR NOT NULL,
    canonical_sample_id  VARCHAR NOT NULL,
    is_canonical         BOOLEAN NOT NULL,
    method               VARCHAR,
    similarity           DOUBLE,
    matched_sample_id    VARCHAR,
    run_id               VARCHAR
);
COMMENT ON TABLE duplicates IS 'Duplicate groups over samples; one canonical sample per group, every drop with its reason.';
COMMENT ON COLUMN duplicates.method IS 'exact (normalized prompt hash), text (embedding cosine) or image (pHash Hamming); NULL for a canonical';
COMMENT ON COLUMN duplicates.similarity IS 'cosine similarity, or 1 - hamming/64 for images, of the pair that joined this sample';
COMMENT ON COLUMN duplicates.matched_sample_id IS 'the sample it was found to duplicate';
