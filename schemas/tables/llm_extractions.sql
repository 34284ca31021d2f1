CREATE TABLE IF NOT EXISTS llm_extractions (
    platform           VARCHAR NOT NULL,
    root_id            VARCHAR NOT NULL,
    extractor          VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    tree_hash          VARCHAR NOT NULL,
    n_posts            INTEGER,
    n_samples          INTEGER,
    run_id             VARCHAR,
    extracted_at       TIMESTAMPTZ,
    PRIMARY KEY (platform, root_id)
);
COMMENT ON TABLE llm_extractions IS 'Trees fully extracted into samples: a tree is extracted again only when its posts or images change or the extractor version does.';
COMMENT ON COLUMN llm_extractions.tree_hash IS 'hash of the tree''s posts, texts and image hashes at extraction time';
COMMENT ON COLUMN llm_extractions.extractor IS 'rules or llm:<model>, as on samples.extractor';
