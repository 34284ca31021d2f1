CREATE TABLE IF NOT EXISTS clusterings (
    clustering_id  VARCHAR NOT NULL PRIMARY KEY,
    run_id         VARCHAR,
    method         VARCHAR NOT NULL,
    params         JSON,
    n_samples      INTEGER,
    n_clusters     INTEGER,
    created_at     TIMESTAMPTZ
);
COMMENT ON TABLE clusterings IS 'One row per clustering run with its parameters; the newest is current.';
