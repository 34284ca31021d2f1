"""Cluster every non-trash sample prompt into topics, label them, and place them on a 2-D map.

Reads: samples, embeddings, the k-NN graph dedup built this run (when the sample set is the same).
Writes: clusters, clusterings. Done: a clustering with the same id (hash of samples, texts, model and
settings) exists; then nothing is recomputed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from echo.dedup.cluster import NOISE, cluster_embeddings, clustering_id, ctfidf_top_terms
from echo.dedup.embed import cached_hashes, embed_texts, load_vectors, prompt_rows
from echo.dedup.normalize import embedding_key
from echo.run import RunContext, StageStats


def run(ctx: RunContext, stats: StageStats) -> None:
    store, cfg, model = ctx.store, ctx.config.cluster, ctx.config.embed.cache_name
    rows = prompt_rows(store)
    ids = [r["sample_id"] for r in rows]
    hashes = [embedding_key(r["prompt"]) for r in rows]
    cid = clustering_id(ids, hashes, model, cfg)
    if store.scalar("SELECT count(*) FROM clusterings WHERE clustering_id = ?", [cid]):
        stats["unchanged"] += 1
        return
    if len(cached_hashes(store, hashes, model)) < len(set(hashes)):
        embed_texts(store, ctx.resources.embedder, [r["prompt"] for r in rows], stats=stats)
    x = load_vectors(store, hashes, model) if rows else np.empty((0, 0), np.float32)
    knn = ctx.resources.knn
    graph = knn.graph if knn is not None and knn.sample_ids == tuple(ids) else None
    result = cluster_embeddings(x, cfg, graph=graph, ann_min_rows=ctx.config.dedup.ann_min_rows)
    terms = ctfidf_top_terms([r["prompt"] for r in rows], result.labels, cfg.top_terms)
    labels = {c: ", ".join(t) for c, t in terms.items()}
    n_clusters = len([c for c in set(result.labels.tolist()) if c != NOISE])
    now = dt.datetime.now(dt.UTC)
    with store.transaction():
        store.upsert("clusters", [
            {"clustering_id": cid, "sample_id": s, "cluster_id": int(c), "label": labels.get(int(c)),
             "probability": None if np.isnan(p) else float(p), "x": float(xy[0]), "y": float(xy[1])}
            for s, c, p, xy in zip(ids, result.labels, result.probabilities, result.xy)
        ])
        store.upsert("clusterings", [{
            "clustering_id": cid, "run_id": ctx.run_id, "method": result.method,
            "params": {**result.params, "model": model, "random_state": cfg.random_state},
            "n_samples": len(ids), "n_clusters": n_clusters, "created_at": now,
        }])
    stats["samples"] += len(ids)
    stats["clusters"] += n_clusters
    stats["noise"] += int((result.labels == NOISE).sum())
