"""Nearest-neighbour search: exact blocks and pynndescent agree with brute force; union-find groups."""

from __future__ import annotations

import numpy as np
import pytest

from bench.synthetic import synthetic_embeddings
from echo.dedup.ann import brute_force_pairs, knn_exact, knn_graph, pair_recall, pairs_from_graph
from echo.dedup.unionfind import UnionFind


def test_exact_blocked_knn_equals_full_matrix_and_puts_self_first():
    x, _, _ = synthetic_embeddings(700, seed=4, points_per_topic=100)
    x = np.vstack([x, x[:5]])  # exact copies must not push a row's self out of column 0
    g = knn_exact(x, 6, block_rows=128)
    assert (g.indices[:, 0] == np.arange(len(x))).all()
    full = x @ x.T
    np.fill_diagonal(full, -np.inf)
    top = np.sort(full, axis=1)[:, ::-1][:, :5]
    assert np.allclose(g.sims[:, 1:], top, atol=1e-5)


def test_pairs_from_exact_graph_match_brute_force():
    x, _, _ = synthetic_embeddings(1200, seed=5, points_per_topic=100)
    pairs, sims = pairs_from_graph(knn_graph(x, 16, ann_min_rows=10_000), 0.92)
    assert knn_graph(x, 16, ann_min_rows=10_000).method == "exact"
    found = {tuple(p) for p in pairs.tolist()}
    assert found == brute_force_pairs(x, 0.92) and len(found) >= 50
    assert (pairs[:, 0] < pairs[:, 1]).all() and (sims >= 0.92).all()
    rec = pair_recall(x, pairs, 0.92, sample_size=500)
    assert rec["recall"] == 1.0 and rec["true_pairs"] > 0


@pytest.mark.slow  # pynndescent JIT-compiles for ~30-60 s on first use in a process
def test_pynndescent_recall_against_brute_force():
    x, _, dup_of = synthetic_embeddings(3000, seed=6, points_per_topic=200)
    graph = knn_graph(x, 16, ann_min_rows=0)
    assert graph.method == "pynndescent" and (graph.indices[:, 0] == np.arange(len(x))).all()
    pairs, _ = pairs_from_graph(graph, 0.92)
    rec = pair_recall(x, pairs, 0.92, sample_size=3000)
    print(rec)
    assert rec["recall"] >= 0.95 and rec["true_pairs"] >= 100


def test_union_find_groups():
    uf = UnionFind(6)
    uf.union_pairs(np.array([[0, 1], [1, 2], [4, 5]]))
    roots = uf.roots()
    assert roots[0] == roots[1] == roots[2] != roots[3] and roots[4] == roots[5] != roots[0]
    assert not uf.union(0, 2) and uf.size[uf.find(0)] == 3
