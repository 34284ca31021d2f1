"""A classifier on post embeddings decides the roots it is sure about, so they skip the LLM relevance call.

Reads: posts, relevance (cheap passes to decide; LLM decisions as training labels), embeddings. Writes:
relevance rows with judge 'prefilter', embeddings. Done: a root has a 'prefilter' or an 'llm' row; nothing is
decided until filter.prefilter_min_labels labels of both classes exist (see echo.filters.relevance_classifier).
"""

from __future__ import annotations

import numpy as np

from echo.dedup.embed import embed_texts
from echo.filters.relevance_classifier import PROMPT_VERSION, cap_labels, train
from echo.llm.injection import without_injection
from echo.run import RunContext, StageStats


def load_labels(store) -> list[dict]:
    return store.query("""
        SELECT p.platform, p.post_id, p.text, r.passed FROM relevance r
        JOIN posts p ON p.platform = r.platform AND p.post_id = r.post_id
        WHERE r.judge = 'llm' AND p.text IS NOT NULL AND length(trim(p.text)) > 0
        ORDER BY p.platform, p.post_id""")


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
    pending = pending_posts(store)
    stats["candidates"] += len(pending)
    labels = load_labels(store)
    stats["labels"] += len(labels)
    y = np.array([1 if r["passed"] else 0 for r in labels], dtype=int)
    if len(labels) < fcfg.prefilter_min_labels or min(int(y.sum()), int((1 - y).sum())) < 4:
        stats["waiting_for_labels"] += 1
        return
    if not pending:
        return
    keys = [f"{r['platform']}:{r['post_id']}" for r in labels]
    chosen = cap_labels(keys, y, fcfg.prefilter_max_labels)
    labels, y, keys = [labels[i] for i in chosen], y[chosen], [keys[i] for i in chosen]
    stats["labels_used"] += len(labels)
    embedder = ctx.resources.embedder
    # The classifier reads what a backend would read: text addressed to a model or an annotator is not evidence.
    _, x_lab = embed_texts(store, embedder, [without_injection(r["text"]) for r in labels], run_progress=ctx.progress,
                           stats=stats)
    model = train(x_lab, y, keys,
                  confidence=fcfg.prefilter_confidence, min_recall=fcfg.prefilter_min_recall,
                  embed_model=embedder.name)
    for k, v in model.metrics.items():
        stats[k] = v
    stats["rejections_allowed"] = int(model.allow_reject)
    pending = [r for r in pending if without_injection(r["text"])]  # nothing left to judge: the LLM stage says so
    if not pending:
        return
    _, x_new = embed_texts(store, embedder, [without_injection(r["text"]) for r in pending], run_progress=ctx.progress,
                           stats=stats)
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
