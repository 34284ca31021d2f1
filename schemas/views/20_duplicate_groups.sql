-- Every duplicate group: the canonical sample kept and each dropped sample with the reason it was dropped.
CREATE OR REPLACE VIEW duplicate_groups AS
SELECT
    d.group_id, d.canonical_sample_id, c.prompt AS canonical_prompt,
    d.sample_id, d.is_canonical, s.prompt, d.method, d.similarity, d.matched_sample_id,
    CASE WHEN d.is_canonical THEN 'kept: canonical of its group'
         ELSE 'dropped: ' || coalesce(d.method, '?') || ' duplicate of ' || coalesce(d.matched_sample_id, d.canonical_sample_id)
              || ' (similarity ' || coalesce(round(d.similarity, 3)::VARCHAR, '?') || ')' END AS reason
FROM duplicates d
LEFT JOIN samples s ON s.sample_id = d.sample_id
LEFT JOIN samples c ON c.sample_id = d.canonical_sample_id;
