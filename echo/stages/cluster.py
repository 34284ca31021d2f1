"""Cluster every non-trash sample prompt into topics, label them, and place them on a 2-D map.

Reads: samples, embeddings, clusters and clusterings (the newest one made with the same settings), the k-NN graph
dedup built this run (when the sample set is the same). Writes: clusters, clusterings (and deletes the
per-sample rows of all but the newest cluster.keep_assignments clusterings). Done: the newest clustering has the
same id (hash of samples, texts, model and settings) and its rows; then nothing is recomputed. A large clustering
with at most cluster.refit_share of its samples changed since its last full fit is extended, not refit.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np

from echo.dedup.cluster import (
    NOISE,
    ClusterResult,
    cluster_embeddings,
    clustering_id,
    ctfidf_top_terms,
    extend_clustering,
    settings_key,
)
from echo.dedup.embed import cached_hashes, embed_texts, load_vectors, prompt_rows
from echo.dedup.normalize import embedding_key
from echo.run import RunContext, StageStats

EXTENDED = "+extended"  # method suffix of a clustering extended from an earlier fit


def extendable(store, settings: str, ids: list[str], hashes: list[str], refit_share: float) -> tuple | None:
    """(previous clustering row, its params, known mask, its cluster rows in `ids` order, changes since its fit)
    when the newest large clustering made with `settings` can be extended to these samples within refit_share."""
    prev = store.query("""
        SELECT clustering_id, method, params FROM clusterings
        WHERE json_extract_string(params, '$.settings') = ? AND method LIKE 'umap+hdbscan%'
        ORDER BY created_at DESC, clustering_id LIMIT 1""", [settings])
    if not prev:
        return None
    prev = prev[0]
    old = {r["sample_id"]: r for r in store.query(
        "SELECT sample_id, text_hash, cluster_id, probability, x, y FROM clusters WHERE clustering_id = ?",
        [prev["clustering_id"]])}
    rows = [old.get(s) if old.get(s) and old[s]["text_hash"] == h else None for s, h in zip(ids, hashes)]
    known = np.array([r is not None for r in rows], dtype=bool)
    changed = int((~known).sum()) + (len(old) - int(known.sum()))  # new or edited here, plus gone from there
    params = json.loads(prev["params"]) if isinstance(prev["params"], str) else prev["params"]
    since_fit = int(params.get("changed_since_fit", 0)) + changed
    if since_fit > refit_share * len(ids):
        return None
    return prev, params, known, rows, since_fit


def run(ctx: RunContext, stats: StageStats) -> None:
    store, cfg, model = ctx.store, ctx.config.cluster, ctx.config.embed.cache_name
    rows = prompt_rows(store)
    ids = [r["sample_id"] for r in rows]
    hashes = [embedding_key(r["prompt"]) for r in rows]
    cid = clustering_id(ids, hashes, model, cfg)
    newest = store.scalar("SELECT clustering_id FROM clusterings ORDER BY created_at DESC, clustering_id LIMIT 1")
    if newest == cid and store.scalar("SELECT count(*) FROM clusters WHERE clustering_id = ?", [cid]) == len(ids):
        stats["unchanged"] += 1
        return
    if len(cached_hashes(store, hashes, model)) < len(set(hashes)):
        embed_texts(store, ctx.resources.embedder, [r["prompt"] for r in rows], stats=stats)
    x = load_vectors(store, hashes, model) if rows else np.empty((0, 0), np.float32)
    settings = settings_key(model, cfg)
    base = extendable(store, settings, ids, hashes, cfg.refit_share) if len(ids) >= cfg.small_set else None
    if base is not None:
        prev, params, known, old, since_fit = base
        labels = np.array([r["cluster_id"] if r else NOISE for r in old])
        probs = np.array([np.nan if not r or r["probability"] is None else r["probability"] for r in old])
        xy = np.array([[r["x"], r["y"]] if r else [0.0, 0.0] for r in old])
        labels, probs, xy = extend_clustering(x, known, labels, probs, xy, cfg.umap_neighbors)
        method = prev["method"] if prev["method"].endswith(EXTENDED) else prev["method"] + EXTENDED
        result = ClusterResult(labels, probs, xy, method, {**params, "changed_since_fit": since_fit,
                                                          "extended_from": prev["clustering_id"]})
        stats["extended"] += 1
        stats["placed"] += int((~known).sum())
    else:
        knn = ctx.resources.knn
        graph = knn.graph if knn is not None and knn.sample_ids == tuple(ids) else None
        result = cluster_embeddings(x, cfg, graph=graph, ann_min_rows=ctx.config.dedup.ann_min_rows)
        result.params.update(model=model, random_state=cfg.random_state, settings=settings, changed_since_fit=0)
        stats["fitted"] += 1
    terms = ctfidf_top_terms([r["prompt"] for r in rows], result.labels, cfg.top_terms)
    labels = {c: ", ".join(t) for c, t in terms.items()}
    n_clusters = len([c for c in set(result.labels.tolist()) if c != NOISE])
    now = dt.datetime.now(dt.UTC)
    with store.transaction():
        store.upsert("clusters", [
            {"clustering_id": cid, "sample_id": s, "cluster_id": int(c), "label": labels.get(int(c)),
             "probability": None if np.isnan(p) else float(p), "x": float(xy[0]), "y": float(xy[1]), "text_hash": h}
            for s, h, c, p, xy in zip(ids, hashes, result.labels, result.probabilities, result.xy)
        ])
        store.upsert("clusterings", [{
            "clustering_id": cid, "run_id": ctx.run_id, "method": result.method, "params": result.params,
            "n_samples": len(ids), "n_clusters": n_clusters, "created_at": now,
        }])
        stats["assignments_pruned"] += store.delete(
            "clusters", "clustering_id IN (SELECT clustering_id FROM clusterings "
            "ORDER BY created_at DESC, clustering_id OFFSET ?)", [cfg.keep_assignments])
    stats["samples"] += len(ids)
    stats["clusters"] += n_clusters
    stats["noise"] += int((result.labels == NOISE).sum())
