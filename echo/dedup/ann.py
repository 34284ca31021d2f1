"""Nearest-neighbour search over L2-normalized embeddings, and near-duplicate pairs from it.

Below `ann_min_rows` rows the k nearest neighbours are exact: numpy matrix products over row blocks, so
memory stays O(block * n) and there is no n x n matrix. From `ann_min_rows` up, pynndescent builds an
approximate k-NN graph in roughly O(n log n). Both return the same shape, self first in every row, so the
graph can also be handed to UMAP (`precomputed_knn`) and is built once per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK_ROWS = 2048
# similarity cells per block, whatever n is: 32 MB of float32, plus argpartition's int64 indices (64 MB)
BLOCK_CELLS = 1 << 23


@dataclass
class KnnGraph:
    """indices[i, 0] == i; sims[i, j] is the cosine similarity of i and indices[i, j] (descending)."""

    indices: np.ndarray  # int64 (n, k)
    sims: np.ndarray  # float32 (n, k)
    method: str  # "exact" or "pynndescent"

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    def cosine_distances(self) -> np.ndarray:
        return np.clip(1.0 - self.sims, 0.0, 2.0).astype(np.float32)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


def _self_first(indices: np.ndarray, sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact copies can outrank a row's own index; put the row itself in column 0 as UMAP expects."""
    n, k = indices.shape
    rows = np.arange(n)
    out_i = np.empty_like(indices)
    out_s = np.empty_like(sims)
    out_i[:, 0] = rows
    out_s[:, 0] = 1.0
    not_self = indices != rows[:, None]
    # keep the first k-1 non-self entries in their (descending) order
    order = np.argsort(~not_self, axis=1, kind="stable")[:, : k - 1]
    out_i[:, 1:] = np.take_along_axis(indices, order, axis=1)
    out_s[:, 1:] = np.take_along_axis(sims, order, axis=1)
    return out_i, out_s


# rows per block when recomputing similarities in float64 (block * candidates * dim * 8 bytes: 22 MB at k=15)
EXACT_SIM_ROWS = 256
# The k-1 neighbours are ranked by exact similarity, then index, among this many times k-1 float32 candidates;
# when all of those tie with the last neighbour (a pile of copies) every tied row is ranked.
CANDIDATE_FACTOR = 2


def exact_sims(x: np.ndarray, rows: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """cos(x[rows[r]], x[neighbours[r, c]]) as float32, from float64 sums of exact products: the same value
    whichever block or direction (i, j or j, i) it is computed in, so a graph updated row by row equals one
    computed at once, bit for bit (a float32 matrix product depends on the block shape)."""
    a = np.broadcast_to(np.asarray(rows)[:, None], neighbours.shape)
    return exact_pair_sims(x, a.ravel(), neighbours.ravel()).reshape(neighbours.shape)


def exact_pair_sims(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """exact_sims for the pairs (a[i], b[i])."""
    out = np.empty(a.shape, dtype=np.float32)
    step = EXACT_SIM_ROWS * 32
    for start in range(0, a.size, step):
        stop = min(start + step, a.size)
        out[start:stop] = (x[a[start:stop]].astype(np.float64) * x[b[start:stop]].astype(np.float64)).sum(axis=1)
    return out


def _canonical(indices: np.ndarray, sims: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `width` of each row by exact similarity descending, ties by smaller index: the one order every
    way of computing the graph agrees on."""
    order = np.lexsort((indices, -sims), axis=-1)[:, :width]
    return np.take_along_axis(indices, order, axis=1), np.take_along_axis(sims, order, axis=1)


def _top(s: np.ndarray, count: int, axis: int = 1) -> np.ndarray:
    """Positions of the `count` largest values along `axis` (unordered)."""
    if count >= s.shape[axis]:
        return np.broadcast_to(np.expand_dims(np.arange(s.shape[axis]), 1 - axis), s.shape).copy()
    m = s.shape[axis]
    return np.argpartition(s, m - count, axis=axis).take(np.arange(m - count, m), axis=axis)  # no negated copy


# float32 products differ from the exact similarity by far less than this
TIE_EPS = 1e-5


def _best_others(x: np.ndarray, q: np.ndarray, s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k-1 nearest other rows of rows q, canonical, from their float32 products s (s[r, q[r]] = -inf).

    Exact similarities are computed for the candidates that can be among them: the k-1 best by float32 product
    and those within TIE_EPS of the last of these."""
    count = min(s.shape[1] - 1, CANDIDATE_FACTOR * (k - 1))
    part = _top(s, count)  # self (-inf) is never among them
    ps = np.take_along_axis(s, part, axis=1)
    last = -np.partition(-ps, k - 2, axis=1)[:, k - 2:k - 1]  # the (k-1)-th best float32 product
    need = ps >= last - TIE_EPS
    ex = np.full(part.shape, -np.inf, dtype=np.float32)
    r, c = np.nonzero(need)
    ex[r, c] = exact_pair_sims(x, q[r], part[r, c])
    others, sims = _canonical(part, ex, k - 1)
    if count < s.shape[1] - 1:
        for r in np.nonzero(need.all(axis=1))[0]:
            # every candidate ties with the last neighbour (a pile of copies): rank all the tied rows exactly
            cols = np.nonzero(s[r] >= last[r, 0] - TIE_EPS)[0][None, :]
            others[r], sims[r] = (a[0] for a in _canonical(cols, exact_sims(x, q[r:r + 1], cols), k - 1))
    return others, sims


def _graph(others: np.ndarray, sims: np.ndarray) -> KnnGraph:
    """Self in column 0 (similarity 1), then the others."""
    n = others.shape[0]
    indices = np.concatenate([np.arange(n, dtype=np.int64)[:, None], others], axis=1)
    return KnnGraph(indices, np.concatenate([np.ones((n, 1), np.float32), sims], axis=1), "exact")


def knn_exact(x: np.ndarray, k: int, block_rows: int = BLOCK_ROWS) -> KnnGraph:
    """Exact top-k by cosine, blockwise (x must be L2-normalized); self first, then by exact similarity, ties by
    smaller index."""
    n = x.shape[0]
    k_eff = min(k, n)
    others = np.empty((n, max(k_eff - 1, 0)), dtype=np.int64)
    sims = np.empty(others.shape, dtype=np.float32)
    if k_eff < 2:
        return _graph(others, sims)
    block_rows = max(1, min(block_rows, BLOCK_CELLS // max(n, 1)))
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        q = np.arange(start, stop)
        s = x[start:stop] @ x.T
        s[np.arange(q.size), q] = -np.inf  # self is column 0, apart: exact copies cannot push it out
        others[start:stop], sims[start:stop] = _best_others(x, q, s, k_eff)
        del s
    return _graph(others, sims)


def knn_exact_update(x: np.ndarray, old: KnnGraph, old_to_new: np.ndarray,
                     block_rows: int = BLOCK_ROWS) -> tuple[KnnGraph, int]:
    """`knn_exact(x, k)` from the exact graph `old` of an earlier row set, without the full n x n product.

    old_to_new[i] is old row i's row in x, or -1 when it is gone; rows of x no old row maps to are new.
    New rows and old rows that lost a neighbour (a gone row was in their list) are searched against all rows
    (blockwise, like knn_exact). Every other old row keeps its list, merged with the new rows that beat its
    last neighbour (the transpose of the same block products): its old list was the top k over the old rows
    and none of them is gone. Returns (graph, rows searched). x must be L2-normalized, k >= 2, n >= k.
    """
    n, k = x.shape[0], old.k
    if k < 2 or n < k:
        raise ValueError(f"an update needs k >= 2 and at least k rows (k={k}, n={n})")
    kept = old_to_new >= 0
    mapped = np.where(kept[old.indices], old_to_new[old.indices], -1)  # old lists in new row numbers
    is_new = np.ones(n, dtype=bool)
    is_new[old_to_new[kept]] = False
    lost = kept & (mapped < 0).any(axis=1)
    search = np.sort(np.concatenate([np.nonzero(is_new)[0], old_to_new[lost]]))
    clean_old = np.nonzero(kept & ~lost)[0]
    clean = old_to_new[clean_old]  # rows that keep their list, and where it is in `old`
    others = np.zeros((n, k - 1), dtype=np.int64)
    sims = np.zeros((n, k - 1), dtype=np.float32)
    others[clean] = mapped[clean_old, 1:]
    sims[clean] = old.sims[clean_old, 1:]
    block_rows = max(1, min(block_rows, BLOCK_CELLS // max(n, 1)))
    for start in range(0, search.size, block_rows):
        q = search[start:start + block_rows]
        s = x[q] @ x.T
        s[np.arange(q.size), q] = -np.inf
        others[q], sims[q] = _best_others(x, q, s, k)
        fresh = is_new[q]
        if fresh.any() and clean.size:
            # rows that keep their list x new rows: only a new row near a list's last neighbour can enter it
            sn = s[fresh][:, clean].T
            r, c = np.nonzero(sn >= sims[clean, -1:] - TIE_EPS)
            if r.size:
                rows, at = np.unique(r, return_inverse=True)
                width = int(np.bincount(at).max())
                slot = np.arange(r.size) - np.searchsorted(r, r)  # r is sorted: place within its row
                cand_i = np.zeros((rows.size, width), dtype=np.int64)
                cand_s = np.full((rows.size, width), -np.inf, dtype=np.float32)
                cand_i[at, slot] = q[fresh][c]
                cand_s[at, slot] = exact_pair_sims(x, clean[r], cand_i[at, slot])
                rows = clean[rows]
                both_i = np.concatenate([others[rows], cand_i], axis=1)
                both_s = np.concatenate([sims[rows], cand_s], axis=1)
                others[rows], sims[rows] = _canonical(both_i, both_s, k - 1)
        del s
    # kept lists were canonical in old row numbers; renumbering can reorder ties
    others, sims = _canonical(others, sims, k - 1)
    return _graph(others, sims), int(search.size)


def knn_pynndescent(x: np.ndarray, k: int, random_state: int = 42, n_jobs: int | None = None) -> KnnGraph:
    from pynndescent import NNDescent  # imported lazily: numba compiles on first import

    n = x.shape[0]
    k_eff = min(k, n)
    index = NNDescent(x, metric="dot", n_neighbors=k_eff, random_state=random_state, low_memory=True,
                      n_jobs=n_jobs, compressed=True, verbose=False)
    idx, dist = index.neighbor_graph
    idx = idx.astype(np.int64)
    sims = (1.0 - dist).astype(np.float32)  # pynndescent's "dot" distance is 1 - dot
    missing = idx < 0  # unfilled slots (tiny or degenerate sets)
    if missing.any():
        idx[missing] = np.nonzero(missing)[0]
        sims[missing] = -np.inf
    i2, s2 = _self_first(idx, sims)
    return KnnGraph(i2, s2, "pynndescent")


def uses_ann(n: int, k: int, ann_min_rows: int) -> bool:
    """Whether knn_graph goes approximate (pynndescent) for n rows."""
    return n >= max(ann_min_rows, k + 2)


def knn_graph(x: np.ndarray, k: int, *, ann_min_rows: int, random_state: int = 42) -> KnnGraph:
    """k-NN graph (k counts the row itself): exact below ann_min_rows rows, pynndescent from there on."""
    x = l2_normalize(x)
    if x.shape[0] == 0:
        return KnnGraph(np.empty((0, 0), np.int64), np.empty((0, 0), np.float32), "exact")
    if not uses_ann(x.shape[0], k, ann_min_rows):
        return knn_exact(x, k)
    return knn_pynndescent(x, k, random_state=random_state)


def pairs_from_graph(graph: KnnGraph, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Unique pairs (i < j) whose cosine is >= threshold, with their similarity (max over both directions)."""
    if graph.indices.size == 0:
        return np.empty((0, 2), np.int64), np.empty(0, np.float32)
    n, k = graph.indices.shape
    rows = np.repeat(np.arange(n), k - 1)
    cols = graph.indices[:, 1:].ravel()
    sims = graph.sims[:, 1:].ravel()
    keep = (sims >= threshold) & (rows != cols)
    a, b, s = rows[keep], cols[keep], sims[keep]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    if lo.size == 0:
        return np.empty((0, 2), np.int64), np.empty(0, np.float32)
    key = lo * n + hi
    order = np.lexsort((-s, key))
    key, lo, hi, s = key[order], lo[order], hi[order], s[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return np.stack([lo[first], hi[first]], axis=1), s[first]


def near_duplicate_pairs(x: np.ndarray, threshold: float, *, k: int, ann_min_rows: int,
                         random_state: int = 42) -> tuple[np.ndarray, np.ndarray, KnnGraph]:
    graph = knn_graph(x, k, ann_min_rows=ann_min_rows, random_state=random_state)
    pairs, sims = pairs_from_graph(graph, threshold)
    return pairs, sims, graph


def brute_force_pairs(x: np.ndarray, threshold: float, query_rows: np.ndarray | None = None,
                      block_rows: int = BLOCK_ROWS) -> set[tuple[int, int]]:
    """Every pair (i < j) with cosine >= threshold where i or j is a query row; exact, blockwise."""
    x = l2_normalize(x)
    q = np.arange(x.shape[0]) if query_rows is None else np.asarray(query_rows)
    block_rows = max(1, min(block_rows, BLOCK_CELLS // max(x.shape[0], 1)))
    out: set[tuple[int, int]] = set()
    for start in range(0, q.size, block_rows):
        qi = q[start:start + block_rows]
        s = x[qi] @ x.T
        s[np.arange(qi.size), qi] = -np.inf
        r, c = np.nonzero(s >= threshold)
        a, b = qi[r], c
        out.update(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))
    return out


def pair_recall(x: np.ndarray, found_pairs: np.ndarray, threshold: float, *, sample_size: int = 20_000,
                seed: int = 0) -> dict[str, float]:
    """Recall of `found_pairs` against brute force, over all true pairs touching a random sample of rows.

    Pairs among rows with more than k true neighbours can be missed by any top-k search; union-find still
    joins those groups through other pairs, so `group_recall` (true pairs whose ends ended up in the same
    group) is reported next to the pairwise recall.
    """
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    sample = rng.choice(n, size=min(sample_size, n), replace=False) if n else np.empty(0, np.int64)
    truth = brute_force_pairs(x, threshold, sample)
    found = set(zip(found_pairs[:, 0].tolist(), found_pairs[:, 1].tolist())) if len(found_pairs) else set()
    hit = len(truth & found)
    from echo.dedup.unionfind import UnionFind

    uf = UnionFind(n)
    uf.union_pairs(found_pairs)
    same_group = sum(1 for a, b in truth if uf.find(a) == uf.find(b))
    return {
        "true_pairs": len(truth),
        "found_pairs": hit,
        "recall": hit / len(truth) if truth else 1.0,
        "group_recall": same_group / len(truth) if truth else 1.0,
        "sample_rows": int(sample.size),
    }
