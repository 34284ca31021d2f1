-- Samples with their community feedback aggregated, the anchor post's platform/date and engagement.
CREATE OR REPLACE VIEW samples_with_feedback AS
SELECT
    s.sample_id, s.platform, s.prompt, s.prompt_modified, s.task, s.quality, s.benchmark_decision,
    s.is_screenshot, s.extractor, s.extractor_version, s.run_id,
    p.created_at AS posted_at, p.like_count, p.repost_count,
    len(s.input_media) AS n_input_images, len(s.output_media) AS n_output_images,
    count(f.post_id) AS n_feedback,
    count(f.post_id) FILTER (WHERE f.polarity = 'success') AS n_success,
    count(f.post_id) FILTER (WHERE f.polarity = 'failure') AS n_failure,
    list_distinct(flatten(list(f.categories) FILTER (WHERE f.categories IS NOT NULL))) AS feedback_categories,
    list_distinct(flatten(list(f.keywords) FILTER (WHERE f.keywords IS NOT NULL))) AS feedback_keywords
FROM samples s
LEFT JOIN posts p ON p.platform = s.platform AND p.post_id = s.anchor_post_id
LEFT JOIN feedback f ON f.sample_id = s.sample_id
GROUP BY ALL;
