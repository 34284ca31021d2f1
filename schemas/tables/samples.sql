CREATE TABLE IF NOT EXISTS samples (
    sample_id           VARCHAR NOT NULL PRIMARY KEY,
    platform            VARCHAR NOT NULL,
    root_id             VARCHAR NOT NULL,
    anchor_post_id      VARCHAR NOT NULL,
    prompt              VARCHAR,
    prompt_modified     BOOLEAN NOT NULL,
    prompt_fill_blank   VARCHAR,
    task                VARCHAR,
    quality             VARCHAR NOT NULL,
    input_media         VARCHAR[],
    output_media        VARCHAR[],
    evidence_post_ids   VARCHAR[],
    is_screenshot       BOOLEAN NOT NULL DEFAULT false,
    input_boxes         JSON,
    has_nsfw            BOOLEAN NOT NULL DEFAULT false,
    benchmark_decision  VARCHAR,
    review_targets      VARCHAR[],
    notes               VARCHAR,
    extractor           VARCHAR NOT NULL,
    extractor_version   VARCHAR NOT NULL,
    run_id              VARCHAR,
    created_at          TIMESTAMPTZ
);
COMMENT ON TABLE samples IS 'Benchmark candidates extracted from post trees.';
COMMENT ON COLUMN samples.sample_id IS 'stable id: hash of platform, anchor post and ordinal within the tree';
COMMENT ON COLUMN samples.anchor_post_id IS 'post that carries the prompt (or the root when none does)';
COMMENT ON COLUMN samples.prompt_modified IS 'prompt was stitched across posts, had placeholders filled, or is not verbatim in the evidence';
COMMENT ON COLUMN samples.prompt_fill_blank IS 'original template when the prompt had [x]/<x>/(x) placeholders';
COMMENT ON COLUMN samples.task IS 'text_to_image or image_to_image (NULL when unknown)';
COMMENT ON COLUMN samples.quality IS 'benchmark (one coherent task), analysis (commentary, questions) or trash';
COMMENT ON COLUMN samples.input_media IS 'media.url of input images, in order';
COMMENT ON COLUMN samples.output_media IS 'media.url of output images, in order';
COMMENT ON COLUMN samples.evidence_post_ids IS 'posts the sample was built from, ordered';
COMMENT ON COLUMN samples.input_boxes IS 'for chat screenshots: boxes of input/output images inside the screenshot';
COMMENT ON COLUMN samples.benchmark_decision IS 'benchmark, manual_review or discard';
COMMENT ON COLUMN samples.review_targets IS 'what a reviewer must check: prompt, input_image, output_image';
COMMENT ON COLUMN samples.extractor IS 'rules (offline rule-based backend) or llm:<model>';
COMMENT ON COLUMN samples.extractor_version IS 'versions of the prompt templates or rules that produced the sample';
