-- LLM calls, cache hits, failures and tokens per run and LLM step (the rule-based backend has zero tokens).
CREATE OR REPLACE VIEW llm_usage_per_run AS
SELECT u.run_id, r.started_at, u.step, u.model, u.calls, u.cache_hits, u.failures, u.tokens_in, u.tokens_out
FROM llm_usage u
LEFT JOIN runs r USING (run_id)
ORDER BY r.started_at DESC, u.step;
