"""A classifier on post embeddings decides the roots it is sure about, so they skip the LLM relevance call.

Reads: posts, relevance (cheap passes to decide), prefilter_models (the newest for the embedding model, fit by
the prefilter_fit stage after an earlier run's relevance), embeddings. Writes: relevance rows with judge
'prefilter', embeddings. Done: a root has a 'prefilter' or an 'llm' row; nothing is decided until a model exists
(see echo.filters.relevance_classifier).
"""

from __future__ import annotations

from echo.dedup.embed import embed_texts
from echo.filters.relevance_classifier import PROMPT_VERSION, from_row
from echo.llm.injection import without_injection
from echo.run import RunContext, StageStats


def newest_model(store, embed_model: str) -> dict | None:
    rows = store.query("SELECT * FROM prefilter_models WHERE embed_model = ? ORDER BY created_at DESC, model_id "
                       "LIMIT 1", [embed_model])
    return rows[0] if rows else None


def pending_posts(store) -> list[dict]:
    """Roots with a passed cheap filter and neither a prefilter nor an llm decision (what the LLM would judge)."""
    return store.query("""
        SELECT p.platform, p.post_id, p.text FROM posts p
        JOIN relevance c ON c.platform = p.platform AND c.post_id = p.post_id AND c.judge = 'cheap' AND c.passed
        WHERE (p.root_id IS NULL OR p.root_id = p.post_id)
          AND p.text IS NOT NULL AND length(trim(p.text)) > 0
          AND NOT EXISTS (SELECT 1 FROM relevance r WHERE r.platform = p.platform AND r.post_id = p.post_id
                          AND r.judge IN ('prefilter', 'llm'))
        ORDER BY p.platform, p.post_id""")


def run(ctx: RunContext, stats: StageStats) -> None:
    fcfg = ctx.config.filter
    if not fcfg.prefilter_enabled:
        stats["disabled"] += 1
        return
    store = ctx.store
    row = newest_model(store, ctx.config.embed.cache_name)
    if row is None:
        stats["waiting_for_model"] += 1
        return
    model = from_row(row, confidence=fcfg.prefilter_confidence, min_recall=fcfg.prefilter_min_recall)
    stats["rejections_allowed"] = int(model.allow_reject)
    # The classifier reads what a backend would read: text addressed to a model or an annotator is not evidence;
    # a post with nothing else left goes to the LLM stage, which says so.
    pending = [r for r in pending_posts(store) if without_injection(r["text"])]
    stats["candidates"] += len(pending)
    if not pending:
        return
    _, x_new = embed_texts(store, ctx.resources.embedder, [without_injection(r["text"]) for r in pending],
                           run_progress=ctx.progress, stats=stats)
    decision, p = model.decide(x_new)
    rows = [{"platform": r["platform"], "post_id": r["post_id"], "judge": "prefilter", "score": None,
             "passed": bool(d == 1), "reason": f"classifier p={pi:.3f}", "model": model.model_id,
             "prompt_version": PROMPT_VERSION, "run_id": ctx.run_id}
            for r, d, pi in zip(pending, decision.tolist(), p.tolist()) if d != -1]
    store.upsert("relevance", rows, ignore_existing=True)
    stats["passed"] += int((decision == 1).sum())
    stats["rejected"] += int((decision == 0).sum())
    stats["deferred_to_llm"] += int((decision == -1).sum())
    stats["calls_saved"] += len(rows)
