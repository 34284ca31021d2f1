-- The funnel per source and query: posts stored, passing each filter, and samples anchored on them.
CREATE OR REPLACE VIEW crawl_funnel AS
WITH post_flags AS (
    SELECT
        p.source, coalesce(p.query, '(tree context)') AS query, p.platform, p.post_id,
        coalesce(bool_or(r.judge = 'cheap' AND r.passed), false) AS cheap_passed,
        coalesce(bool_or(r.judge IN ('prefilter', 'llm') AND r.passed), false) AS relevant
    FROM posts p
    LEFT JOIN relevance r ON r.platform = p.platform AND r.post_id = p.post_id
    GROUP BY ALL
)
SELECT
    pf.source, pf.query,
    count(DISTINCT pf.post_id) AS posts,
    count(DISTINCT pf.post_id) FILTER (WHERE pf.cheap_passed) AS passed_cheap_filter,
    count(DISTINCT pf.post_id) FILTER (WHERE pf.relevant) AS relevant,
    count(DISTINCT s.sample_id) AS samples
FROM post_flags pf
LEFT JOIN samples s ON s.platform = pf.platform AND s.anchor_post_id = pf.post_id
GROUP BY pf.source, pf.query
ORDER BY pf.source, pf.query;
