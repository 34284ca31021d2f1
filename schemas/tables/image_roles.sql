CREATE TABLE IF NOT EXISTS image_roles (
    sample_id       VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    role            VARCHAR NOT NULL,
    is_screenshot   BOOLEAN NOT NULL DEFAULT false,
    is_duplicate    BOOLEAN NOT NULL DEFAULT false,
    reason          VARCHAR,
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    run_id          VARCHAR,
    PRIMARY KEY (sample_id, url)
);
COMMENT ON TABLE image_roles IS 'Role of each image in a sample''s tree.';
COMMENT ON COLUMN image_roles.role IS 'input, output or irrelevant';
