CREATE TABLE IF NOT EXISTS prefilter_models (
    model_id     VARCHAR NOT NULL PRIMARY KEY,
    embed_model  VARCHAR NOT NULL,
    run_id       VARCHAR,
    created_at   TIMESTAMPTZ,
    label_keys   VARCHAR[] NOT NULL,
    coef         DOUBLE[] NOT NULL,
    intercept    DOUBLE NOT NULL,
    metrics      JSON
);
COMMENT ON TABLE prefilter_models IS 'Fitted relevance pre-filters (logistic regression on post embeddings); the newest for the embedding model decides.';
COMMENT ON COLUMN prefilter_models.model_id IS 'prefilter:logreg:<hash of the embedding model and the training labels>';
COMMENT ON COLUMN prefilter_models.label_keys IS 'the training labels as platform:post_id=0|1, to tell how far the labels have moved since';
COMMENT ON COLUMN prefilter_models.coef IS 'weights on the L2-normalized embedding; p(relevant) = sigmoid(coef . x + intercept)';
COMMENT ON COLUMN prefilter_models.metrics IS 'held-out checks of the fit (holdout_keep_recall decides whether rejections are allowed)';
