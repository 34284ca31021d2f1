-- Clusters of the newest clustering run: label, size and up to five example prompts.
CREATE OR REPLACE VIEW cluster_summary AS
WITH latest AS (SELECT clustering_id FROM clusterings ORDER BY created_at DESC, clustering_id LIMIT 1)
SELECT
    c.cluster_id, any_value(c.label) AS label, count(*) AS n_samples,
    list(s.prompt ORDER BY s.sample_id)[1:5] AS example_prompts
FROM clusters c
JOIN latest USING (clustering_id)
LEFT JOIN samples s ON s.sample_id = c.sample_id
GROUP BY c.cluster_id
ORDER BY n_samples DESC;
