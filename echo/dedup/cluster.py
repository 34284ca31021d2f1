"""Topic clusters of sample prompts, labelled by c-TF-IDF, with a 2-D map.

Large sets (>= cluster.small_set samples): UMAP to cluster.umap_dims (cosine, min_dist 0, seeded) then
sklearn HDBSCAN; a second UMAP to 2-D gives clusters.x/y. Both UMAPs reuse one k-NN graph (the one the
dedup stage built when the sample set is the same). Above cluster.max_fit_samples, UMAP and HDBSCAN fit
a seeded random subsample of that size; every other sample then takes, along the k-NN graph of all
samples, the cluster of its most similar already-placed neighbour and the similarity-weighted mean map
position of its placed neighbours, round after round (label propagation); rows the graph never reaches
take the nearest cluster centroid. Probability is NULL for these assigned rows.
Small sets (< cluster.small_set): average-linkage agglomerative clustering on cosine distance, cut at
cluster.small_distance; a group of one is noise. The 2-D map is PCA. 0, 1 and 2 samples work.
Noise (cluster_id -1) stays noise unless cluster.assign_noise, which moves it to the nearest cluster
centroid (default off: outliers stay visible as outliers).
Clusterings are keyed by a hash of (samples, their text hashes, model, parameters): re-running on the
same input is a no-op. umap is imported only on the large path (its first import JIT-compiles).
Between full fits a large clustering is extended (`extend_clustering`): samples it already holds with the same
text keep their cluster and map position, new ones take them from their most similar neighbours, as in the
subsample path. The cluster stage refits once more than cluster.refit_share of the samples changed since the
last full fit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from dataclasses import dataclass

import numpy as np

from echo.config import ClusterSettings
from echo.dedup.ann import BLOCK_CELLS, KnnGraph, knn_graph, l2_normalize

NOISE = -1


@dataclass
class ClusterResult:
    labels: np.ndarray  # int, -1 noise
    probabilities: np.ndarray  # float, NaN where not defined (assigned rows)
    xy: np.ndarray  # (n, 2)
    method: str
    params: dict


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Clusters numbered by size (largest 0), ties by first member: stable across equal runs."""
    out = np.full_like(labels, NOISE)
    ids = [c for c in np.unique(labels) if c != NOISE]
    order = sorted(ids, key=lambda c: (-(labels == c).sum(), int(np.argmax(labels == c))))
    for new, c in enumerate(order):
        out[labels == c] = new
    return out


def _assign_to_centroids(points: np.ndarray, labels: np.ndarray, *, cosine: bool) -> np.ndarray:
    ids = [c for c in np.unique(labels) if c != NOISE]
    noise = labels == NOISE
    if not ids or not noise.any():
        return labels
    cents = np.stack([points[labels == c].mean(axis=0) for c in ids])
    if cosine:
        d = -(l2_normalize(points[noise]) @ l2_normalize(cents).T)
    else:
        d = ((points[noise][:, None, :] - cents[None, :, :]) ** 2).sum(-1)
    out = labels.copy()
    out[noise] = np.asarray(ids)[d.argmin(axis=1)]
    return out


def _pca_2d(x: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    n = x.shape[0]
    if n < 2 or np.allclose(x, x[0]):  # nothing to spread out (PCA would divide by zero variance)
        return np.zeros((n, 2))
    comps = min(2, n, x.shape[1])
    xy = PCA(n_components=comps, random_state=0).fit_transform(x)
    if comps < 2:
        xy = np.hstack([xy, np.zeros((n, 2 - comps))])
    return xy


def cluster_small(x: np.ndarray, cfg: ClusterSettings) -> ClusterResult:
    from sklearn.cluster import AgglomerativeClustering

    n = x.shape[0]
    params = {"distance_threshold": cfg.small_distance, "linkage": "average", "metric": "cosine",
              "assign_noise": cfg.assign_noise}
    if n < 2:
        return ClusterResult(np.full(n, NOISE), np.zeros(n), np.zeros((n, 2)), "agglomerative", params)
    raw = AgglomerativeClustering(n_clusters=None, distance_threshold=cfg.small_distance, metric="cosine",
                                  linkage="average").fit_predict(x)
    sizes = np.bincount(raw)
    raw = np.where(sizes[raw] >= 2, raw, NOISE)
    labels = _renumber(raw)
    if cfg.assign_noise:
        labels = _assign_to_centroids(x, labels, cosine=True)
    probs = np.where(labels == NOISE, 0.0, 1.0)
    return ClusterResult(labels, probs, _pca_2d(x), "agglomerative", params)


def _umap(x: np.ndarray, graph: KnnGraph, dims: int, min_dist: float, cfg: ClusterSettings) -> np.ndarray:
    import umap  # lazy: first import JIT-compiles for tens of seconds

    n_neighbors = max(2, min(cfg.umap_neighbors, graph.k, x.shape[0] - 1))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*")
        reducer = umap.UMAP(
            n_components=dims, n_neighbors=n_neighbors, min_dist=min_dist, metric="cosine",
            random_state=cfg.random_state, n_epochs=cfg.umap_epochs or None,
            precomputed_knn=(graph.indices[:, :n_neighbors], graph.cosine_distances()[:, :n_neighbors], None),
            init=cfg.umap_init, low_memory=True, verbose=False)
        return reducer.fit_transform(x)


def cluster_large(x: np.ndarray, cfg: ClusterSettings, *, graph: KnnGraph | None = None, ann_min_rows: int = 20_000,
                  timings: dict | None = None) -> ClusterResult:
    import time

    from sklearn.cluster import HDBSCAN

    x = l2_normalize(x)
    n = x.shape[0]
    rng = np.random.default_rng(cfg.random_state)
    subsample = n > cfg.max_fit_samples
    fit_rows = np.sort(rng.choice(n, size=cfg.max_fit_samples, replace=False)) if subsample else np.arange(n)
    xf = x[fit_rows]
    t0 = time.perf_counter()
    graph_all = graph if graph is not None and graph.indices.shape[0] == n else None
    if subsample or graph is None or graph.k < min(cfg.umap_neighbors, n - 1):
        graph = knn_graph(xf, cfg.umap_neighbors, ann_min_rows=ann_min_rows, random_state=cfg.random_state)
    t1 = time.perf_counter()
    emb = _umap(xf, graph, cfg.umap_dims, 0.0, cfg)
    t2 = time.perf_counter()
    hdb = HDBSCAN(min_cluster_size=cfg.min_cluster_size, copy=True).fit(emb)
    t3 = time.perf_counter()
    xy_fit = emb[:, :2] if cfg.umap_dims == 2 else _umap(xf, graph, 2, 0.1, cfg)
    t4 = time.perf_counter()
    labels_fit = _renumber(hdb.labels_)
    if cfg.assign_noise:
        labels_fit = _assign_to_centroids(emb, labels_fit, cosine=False)
    labels = np.full(n, NOISE)
    probs = np.full(n, np.nan)
    xy = np.zeros((n, 2))
    labels[fit_rows] = labels_fit
    probs[fit_rows] = hdb.probabilities_
    xy[fit_rows] = xy_fit
    if subsample:
        full = graph_all if graph_all is not None else knn_graph(
            x, cfg.umap_neighbors, ann_min_rows=ann_min_rows, random_state=cfg.random_state)
        known = np.zeros(n, dtype=bool)
        known[fit_rows] = True
        _propagate(full, known, labels, xy)
        if not known.all():  # no labelled path in the graph: nearest cluster centroid in embedding space
            _nearest_centroid(x, known, labels, xy)
    t5 = time.perf_counter()
    if timings is not None:
        timings.update(knn=t1 - t0, umap=t2 - t1, hdbscan=t3 - t2, umap_2d=t4 - t3, assign=t5 - t4)
    params = {"umap_dims": cfg.umap_dims, "umap_neighbors": cfg.umap_neighbors, "min_dist": 0.0,
              "umap_epochs": cfg.umap_epochs, "min_cluster_size": cfg.min_cluster_size,
              "assign_noise": cfg.assign_noise, "fit_samples": int(fit_rows.size), "knn": graph.method}
    return ClusterResult(labels, probs, xy, "umap+hdbscan", params)


def _propagate(graph: KnnGraph, known: np.ndarray, labels: np.ndarray, xy: np.ndarray, max_rounds: int = 20) -> None:
    """Give each unlabelled row the label of its most similar labelled k-NN neighbour and the similarity-
    weighted mean map position of its labelled neighbours; repeat so labels flow along the graph."""
    nb_all, sims_all = graph.indices[:, 1:], np.clip(graph.sims[:, 1:], 1e-6, None)
    for _ in range(max_rounds):
        todo = np.nonzero(~known)[0]
        if todo.size == 0:
            return
        nb, sims = nb_all[todo], sims_all[todo]
        ok = known[nb]
        has = ok.any(axis=1)
        if not has.any():
            return
        rows, nb, sims, ok = todo[has], nb[has], sims[has], ok[has]
        best = np.where(ok, sims, -np.inf).argmax(axis=1)
        labels[rows] = labels[nb[np.arange(rows.size), best]]
        w = np.where(ok, sims, 0.0)
        xy[rows] = (xy[nb] * w[..., None]).sum(axis=1) / w.sum(axis=1, keepdims=True)
        known[rows] = True


def _nearest_centroid(x: np.ndarray, known: np.ndarray, labels: np.ndarray, xy: np.ndarray) -> None:
    ids = np.unique(labels[known])
    cents = l2_normalize(np.stack([x[known & (labels == c)].mean(axis=0) for c in ids]))
    cent_xy = np.stack([xy[known & (labels == c)].mean(axis=0) for c in ids])
    rows = np.nonzero(~known)[0]
    step = max(1, (1 << 25) // max(len(ids), 1))
    for start in range(0, rows.size, step):
        r = rows[start:start + step]
        best = (x[r] @ cents.T).argmax(axis=1)
        labels[r] = ids[best]
        xy[r] = cent_xy[best]
    known[rows] = True


def extend_clustering(x: np.ndarray, known: np.ndarray, labels: np.ndarray, probabilities: np.ndarray,
                      xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, probabilities, xy) for every row of `x` when the `known` rows keep theirs: each other row takes
    the cluster of its most similar known neighbour among its k nearest (cosine, over all rows, so new rows
    chain through each other) and their similarity-weighted mean map position; rows with no path to a known row
    take the nearest cluster centroid. Probability is NaN for the rows placed here."""
    x = l2_normalize(x)
    n = x.shape[0]
    known, labels, xy = known.copy(), labels.copy(), np.asarray(xy, dtype=np.float64).copy()
    probabilities = np.where(known, probabilities, np.nan)
    new = np.flatnonzero(~known)
    if new.size == 0 or not known.any():
        return labels, probabilities, xy
    k = max(1, min(k, n - 1))
    indices = np.repeat(np.arange(n)[:, None], k + 1, axis=1)  # known rows: only themselves (never read)
    sims = np.ones((n, k + 1), dtype=np.float32)
    step = max(1, BLOCK_CELLS // n)  # rows of similarities per block, whatever n is
    for start in range(0, new.size, step):
        rows = new[start:start + step]
        block = x[rows] @ x.T
        block[np.arange(rows.size), rows] = -np.inf  # a row is not its own neighbour
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        indices[rows, 1:] = np.take_along_axis(top, order, axis=1)
        sims[rows, 1:] = np.take_along_axis(top_sims, order, axis=1)
    _propagate(KnnGraph(indices, sims, "exact"), known, labels, xy)
    if not known.all():
        _nearest_centroid(x, known, labels, xy)
    return labels, probabilities, xy


def cluster_embeddings(x: np.ndarray, cfg: ClusterSettings, *, graph: KnnGraph | None = None,
                       ann_min_rows: int = 20_000) -> ClusterResult:
    """Small-set fallback below cfg.small_set rows, UMAP + HDBSCAN from there on."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D embedding matrix, got shape {x.shape}")
    if x.shape[0] < max(cfg.small_set, 3):
        return cluster_small(x, cfg)
    return cluster_large(x, cfg, graph=graph, ann_min_rows=ann_min_rows)


def ctfidf_top_terms(docs: list[str], labels: np.ndarray, top_n: int) -> dict[int, list[str]]:
    """Class-based TF-IDF (BERTopic): each cluster's prompts form one document.

    tf(t, c) = count of t in c / words in c; idf(t) = log(1 + mean words per class / count of t overall).
    Noise is a class too, so terms common everywhere score low, but it gets no label.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(labels.tolist()))
    if not docs or classes == [NOISE]:
        return {}
    by_class: dict[int, list[str]] = {c: [] for c in classes}
    for d, lab in zip(docs, labels.tolist()):  # one pass: a pass per class was 12M steps at 750 clusters
        by_class[lab].append(d)
    joined = [" ".join(by_class[c]) for c in classes]
    try:
        vec = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1, token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
        # sparse throughout: classes x bigram vocabulary is ~1 GB dense at 15k prompts in 750 clusters
        counts = vec.fit_transform(joined).tocsr().astype(float)
    except ValueError:  # only stop words or no words at all
        return {c: [] for c in classes if c != NOISE}
    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    avg_words = words_per_class.mean()
    idf = np.log(1.0 + avg_words / np.maximum(np.asarray(counts.sum(axis=0)).ravel(), 1.0))
    terms = vec.get_feature_names_out()
    out = {}
    for row, c in enumerate(classes):
        if c == NOISE:
            continue
        lo, hi = counts.indptr[row], counts.indptr[row + 1]
        cols = counts.indices[lo:hi]
        scores = counts.data[lo:hi] / max(words_per_class[row], 1.0) * idf[cols]
        keep = scores > 0
        cols, scores = cols[keep], scores[keep]
        order = np.lexsort((cols, -scores))  # highest score first, ties by term order (as a stable argsort)
        out[c] = [terms[i] for i in cols[order[:top_n]]]
    return out


def settings_key(model: str, cfg: ClusterSettings) -> str:
    """What a clustering was fit with (refit_share only says when to fit): clusterings alike may extend each other."""
    fit = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "refit_share"}
    return hashlib.sha256(json.dumps({"cluster": fit, "model": model, "v": 1}, sort_keys=True).encode()).hexdigest()[:16]


def clustering_id(sample_ids: list[str], text_hashes: list[str], model: str, cfg: ClusterSettings) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"cluster": dataclasses.asdict(cfg), "model": model, "v": 1}, sort_keys=True).encode())
    for s, t in zip(sample_ids, text_hashes):
        h.update(f"{s}\x1f{t}\n".encode())
    return "c" + h.hexdigest()[:20]
