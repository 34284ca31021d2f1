"""The exact k-NN graph of the last dedup run, kept in the data folder and updated instead of recomputed.

A nightly refresh adds ~1% of the samples; knn_exact would redo the whole n x n product. With the stored
graph only new rows and rows that lost a neighbour are searched (echo.dedup.ann.knn_exact_update); the result
equals knn_exact over the current rows (same neighbours and similarities, ties by index). Rows are keyed by
sample id + embedding key, so an edited prompt is a row gone plus a row new. The file holds no text: sample
ids, text hashes, neighbour indices and similarities. It is a cache: missing, unreadable or written under
other settings (model, k, version) means one full computation, never an error.

Above `dedup.ann_min_rows` rows the graph is pynndescent's, computed in full as before, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echo.dedup.ann import KnnGraph, knn_exact, knn_exact_update, knn_graph, l2_normalize, uses_ann
from echo.npzcache import read_npz, write_npz

KNN_FILE = "dedup-knn.npz"
KNN_VERSION = "knn-exact-v1"
# Above this share of rows new or gone, one full product is cheaper than searching them one by one.
UPDATE_MAX_SHARE = 0.2


@dataclass(frozen=True)
class GraphFile:
    """Where the graph is kept, the key of each row of this run's matrix, and the embedding model's name."""

    path: Path | None
    keys: Sequence[str]
    model: str


def graph_path(config) -> Path:
    """<data_dir>/dedup-knn.npz"""
    return config.path("data_dir") / KNN_FILE


def drop_graph(config) -> bool:
    """Delete the stored graph (after a takedown: it names the forgotten samples' ids and text hashes until the
    next run); the next dedup run computes it in full. True when there was one."""
    path = graph_path(config)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def row_key(sample_id: str, text_key: str) -> str:
    return f"{sample_id}\x1f{text_key}"


def knn_settings(model: str, k: int) -> str:
    return f"{KNN_VERSION}\x1f{model}\x1f{k}"


def _read_graph(path: Path | None, settings: str, k: int) -> tuple[np.ndarray, KnnGraph] | None:
    doc = read_npz(path, ("keys", "indices", "sims"), settings)
    if doc is None:
        return None
    keys, idx, sims = doc["keys"], doc["indices"], doc["sims"]
    m = len(keys)
    if (keys.ndim != 1 or idx.shape != (m, k) or sims.shape != (m, k) or idx.dtype.kind != "i"
            or sims.dtype != np.float32 or (m and (idx.min() < 0 or idx.max() >= m
                                                   or (idx[:, 0] != np.arange(m)).any()))
            or len(set(keys.tolist())) != m):
        return None  # damaged: computed again
    return keys, KnnGraph(idx.astype(np.int64), sims, "exact")


def cached_knn_graph(x: np.ndarray, k: int, *, ann_min_rows: int, random_state: int = 42,
                     graph_file: GraphFile | None = None,
                     max_share: float = UPDATE_MAX_SHARE) -> tuple[KnnGraph, str, int]:
    """knn_graph(x, k), reusing and updating the stored exact graph. Returns (graph, how, rows searched): how is
    'reused' (the same rows), 'updated' (knn_exact_update), 'computed' (knn_exact) or 'ann' (pynndescent)."""
    n = x.shape[0]
    if graph_file is None or n == 0 or uses_ann(n, k, ann_min_rows):
        g = knn_graph(x, k, ann_min_rows=ann_min_rows, random_state=random_state)
        return g, g.method if g.method != "exact" else "computed", n
    if len(graph_file.keys) != n:
        raise ValueError(f"{len(graph_file.keys)} row keys for {n} rows")
    x = l2_normalize(x)
    keys = np.array(list(graph_file.keys), dtype=str)
    k_eff = min(k, n)
    settings = knn_settings(graph_file.model, k_eff)
    stored = _read_graph(graph_file.path, settings, k_eff)
    if stored is not None and np.array_equal(stored[0], keys):
        return stored[1], "reused", 0
    unique = len(set(keys.tolist())) == n
    if stored is not None and unique and k_eff >= 2:
        old_keys, old = stored
        place = {key: i for i, key in enumerate(keys.tolist())}
        old_to_new = np.array([place.get(key, -1) for key in old_keys.tolist()], dtype=np.int64)
        gone = int((old_to_new < 0).sum())
        new = n - (len(old_keys) - gone)
        if gone < len(old_keys) and new + gone <= max_share * n:
            graph, searched = knn_exact_update(x, old, old_to_new)
            write_npz(graph_file.path, settings, keys=keys, indices=graph.indices, sims=graph.sims)
            return graph, "updated", searched
    graph = knn_exact(x, k_eff)
    if unique:
        write_npz(graph_file.path, settings, keys=keys, indices=graph.indices, sims=graph.sims)
    return graph, "computed", n
