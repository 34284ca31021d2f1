CREATE TABLE IF NOT EXISTS clusters (
    clustering_id  VARCHAR NOT NULL,
    sample_id      VARCHAR NOT NULL,
    cluster_id     INTEGER NOT NULL,
    label          VARCHAR,
    probability    DOUBLE,
    x              DOUBLE,
    y              DOUBLE,
    text_hash      VARCHAR,
    PRIMARY KEY (clustering_id, sample_id)
);
COMMENT ON TABLE clusters IS 'Cluster assignment and 2-D map position of each sample, per clustering run.';
COMMENT ON COLUMN clusters.cluster_id IS '-1 is noise';
COMMENT ON COLUMN clusters.label IS 'top c-TF-IDF terms of the cluster';
COMMENT ON COLUMN clusters.text_hash IS 'embedding key of the prompt clustered: a later clustering extends this one only for samples whose text is unchanged';
