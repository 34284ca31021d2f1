CREATE TABLE IF NOT EXISTS runs (
    run_id         VARCHAR NOT NULL PRIMARY KEY,
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    status         VARCHAR NOT NULL,
    failed_stage   VARCHAR,
    error          VARCHAR,
    trigger        VARCHAR,
    params         JSON,
    stage_stats    JSON,
    code_version   VARCHAR,
    problems       JSON,
    pid            INTEGER,
    host           VARCHAR
);
COMMENT ON TABLE runs IS 'One row per refresh, written even when a stage fails.';
COMMENT ON COLUMN runs.status IS 'running; ok; degraded (some items failed and are retried next run: see problems); failed (a stage stopped: failed_stage, error); interrupted (its process died: marked by the next run, echo.release.recover.mark_interrupted)';
COMMENT ON COLUMN runs.problems IS '{stage: [what did not get done]} of a degraded run';
COMMENT ON COLUMN runs.stage_stats IS '{stage: {counter: n, ..., seconds: s}} in stage order';
COMMENT ON COLUMN runs.trigger IS 'cli or prefect (with the flow run id)';
COMMENT ON COLUMN runs.pid IS 'process id of the run (with host): a running row whose process is gone was interrupted';
COMMENT ON COLUMN runs.host IS 'host name of the process that ran it';
