CREATE TABLE IF NOT EXISTS review_decisions (
    sample_id   VARCHAR NOT NULL PRIMARY KEY,
    decision    VARCHAR NOT NULL,
    reviewer    VARCHAR,
    note        VARCHAR,
    targets     VARCHAR[],
    decided_at  TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE review_decisions IS 'Human decisions on samples the benchmark filter sent to manual review (echo-bench review). The release step admits an accepted sample to the benchmark configs and keeps a rejected one out of them.';
COMMENT ON COLUMN review_decisions.decision IS 'accept or reject; a later decision on the same sample replaces the earlier one';
COMMENT ON COLUMN review_decisions.reviewer IS 'who decided: --reviewer, else $ECHO_REVIEWER, else the login name';
COMMENT ON COLUMN review_decisions.note IS 'free text: why, or what was checked';
COMMENT ON COLUMN review_decisions.targets IS 'the review_targets the sample had when it was decided (prompt, input_image, output_image)';
COMMENT ON COLUMN review_decisions.decided_at IS 'when the decision was recorded (UTC)';
