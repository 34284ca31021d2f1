"""Fit the relevance pre-filter on the LLM's labels, in the run that made them (after embed: the embedding model is
loaded by then, and the media stage before it runs without it).

Reads: posts, relevance (judge 'llm' rows are the labels), prefilter_models, embeddings. Writes: a
prefilter_models row, embeddings of the training posts. Done: the newest model for the embedding model was fit
on labels within filter.prefilter_refit_share of today's (capped) labels; fewer than filter.prefilter_min_labels
labels, or fewer than 4 of a class, fit nothing.
"""

from __future__ import annotations

import numpy as np

from echo.dedup.embed import embed_texts
from echo.filters.relevance_classifier import cap_labels, label_drift, label_keys, model_row, train
from echo.llm.injection import without_injection
from echo.run import RunContext, StageStats
from echo.stages.prefilter import newest_model


def load_labels(store) -> list[dict]:
    return store.query("""
        SELECT p.platform, p.post_id, p.text, r.passed FROM relevance r
        JOIN posts p ON p.platform = r.platform AND p.post_id = r.post_id
        WHERE r.judge = 'llm' AND p.text IS NOT NULL AND length(trim(p.text)) > 0
        ORDER BY p.platform, p.post_id""")


def run(ctx: RunContext, stats: StageStats) -> None:
    fcfg, embed_model = ctx.config.filter, ctx.config.embed.cache_name
    if not fcfg.prefilter_enabled:
        stats["disabled"] += 1
        return
    store = ctx.store
    labels = load_labels(store)
    stats["labels"] += len(labels)
    y = np.array([1 if r["passed"] else 0 for r in labels], dtype=int)
    if len(labels) < fcfg.prefilter_min_labels or min(int(y.sum()), int((1 - y).sum())) < 4:
        stats["waiting_for_labels"] += 1
        return
    chosen = cap_labels([f"{r['platform']}:{r['post_id']}" for r in labels], y, fcfg.prefilter_max_labels)
    labels, y = [labels[i] for i in chosen], y[chosen]
    keys = label_keys([f"{r['platform']}:{r['post_id']}" for r in labels], y)
    stats["labels_used"] += len(labels)
    fitted = newest_model(store, embed_model)
    if fitted is not None:
        drift = label_drift(list(fitted["label_keys"]), keys)
        stats["label_drift"] = round(drift, 4)
        if drift <= fcfg.prefilter_refit_share:
            stats["reused"] += 1
            return
    _, x = embed_texts(store, ctx.resources.embedder, [without_injection(r["text"]) for r in labels],
                       run_progress=ctx.progress, stats=stats)
    model = train(x, y, keys, confidence=fcfg.prefilter_confidence, min_recall=fcfg.prefilter_min_recall,
                  embed_model=embed_model)
    for k, v in model.metrics.items():
        stats[k] = v
    store.upsert("prefilter_models", [model_row(model, keys, embed_model, ctx.run_id)])
    stats["fitted"] += 1
