"""Incremental k-NN graph (echo.dedup.knn_cache): after adds, removals and edits the updated graph equals
knn_exact over the current rows, and the dedup stage writes the same rows as a run without the stored graph."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from echo.dedup.ann import knn_exact, l2_normalize
from echo.dedup.knn_cache import KNN_FILE, GraphFile, cached_knn_graph, knn_settings
from echo.npzcache import read_npz, write_npz

K = 6


class Rows:
    """A changing set of keyed vectors: planted near-duplicates and exact copies among random ones."""

    def __init__(self, n: int, dim: int = 48, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.dim = dim
        self.next_id = 0
        self.keys: list[str] = []
        self.vecs: list[np.ndarray] = []
        self.add(n)

    def _vector(self) -> np.ndarray:
        r = self.rng.random()
        if self.vecs and r < 0.1:  # an exact copy of an existing row
            return self.vecs[self.rng.integers(len(self.vecs))].copy()
        if self.vecs and r < 0.3:  # a near-duplicate (cosine ~0.99)
            base = self.vecs[self.rng.integers(len(self.vecs))]
            v = base + 0.1 * self.rng.standard_normal(self.dim).astype(np.float32) / np.sqrt(self.dim)
        else:
            v = self.rng.standard_normal(self.dim).astype(np.float32)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def add(self, count: int) -> None:
        for _ in range(count):
            self.keys.append(f"s{self.next_id:05d}\x1fh{self.next_id}")
            self.vecs.append(self._vector())
            self.next_id += 1

    def remove(self, count: int) -> None:
        for i in sorted(self.rng.choice(len(self.keys), size=count, replace=False).tolist(), reverse=True):
            del self.keys[i], self.vecs[i]

    def change(self, count: int) -> None:
        """An edited prompt: same sample, new text key and vector."""
        for i in self.rng.choice(len(self.keys), size=count, replace=False).tolist():
            self.keys[i] = f"{self.keys[i].split(chr(31))[0]}\x1fh{self.next_id}"
            self.vecs[i] = self._vector()
            self.next_id += 1

    def matrix(self) -> np.ndarray:
        return np.stack(self.vecs)


def _graph(rows: Rows, path, max_share: float = 1.0):
    return cached_knn_graph(rows.matrix(), K, ann_min_rows=100_000, graph_file=GraphFile(path, rows.keys, "m"),
                            max_share=max_share)


def _assert_equal_to_exact(graph, x: np.ndarray) -> None:
    full = knn_exact(l2_normalize(x), K)
    assert np.array_equal(graph.indices, full.indices)
    assert np.array_equal(graph.sims, full.sims)
    assert (graph.indices[:, 0] == np.arange(len(x))).all() and (graph.sims[:, 0] == 1.0).all()


def test_update_equals_knn_exact_after_every_add_remove_and_change(tmp_path):
    path = tmp_path / KNN_FILE
    rows = Rows(500)
    graph, how, searched = _graph(rows, path)
    assert how == "computed" and searched == 500 and path.is_file()
    _assert_equal_to_exact(graph, rows.matrix())
    steps = [("add", 12), ("remove", 9), ("change", 6), ("add", 1), ("remove", 1),
             ("change", 1), ("add", 40), ("remove", 30)]
    for op, count in steps:
        getattr(rows, op)(count)
        graph, how, searched = _graph(rows, path)
        assert how == "updated", (op, count)
        assert 0 < searched < len(rows.keys) / 2  # only new rows and rows that lost a neighbour are searched
        _assert_equal_to_exact(graph, rows.matrix())
    copies = {}
    for i, v in enumerate(rows.vecs):
        copies.setdefault(v.tobytes(), []).append(i)
    assert any(len(c) > 1 for c in copies.values())  # exact copies were planted, and self stayed in column 0
    graph, how, searched = _graph(rows, path)  # the same rows: read back, nothing searched
    assert (how, searched) == ("reused", 0)
    _assert_equal_to_exact(graph, rows.matrix())


def test_piles_of_exact_copies_larger_than_k_keep_the_smallest_indices(tmp_path):
    """More tied rows than candidates: all tied rows are ranked, ties go to the smaller index, both ways."""
    path = tmp_path / KNN_FILE
    rows = Rows(200, seed=5)
    for _ in range(4 * K):
        rows.vecs.append(rows.vecs[7].copy())
        rows.keys.append(f"s{rows.next_id:05d}\x1fh{rows.next_id}")
        rows.next_id += 1
    graph, _, _ = _graph(rows, path)
    _assert_equal_to_exact(graph, rows.matrix())
    pile = [i for i, v in enumerate(rows.vecs) if np.array_equal(v, rows.vecs[7])]
    assert graph.indices[7, 1:].tolist() == [i for i in pile if i != 7][: K - 1]
    rows.remove(3)
    for _ in range(3 * K):  # new copies too
        rows.vecs.append(rows.vecs[rows.keys.index(rows.keys[-1])].copy())
        rows.keys.append(f"s{rows.next_id:05d}\x1fh{rows.next_id}")
        rows.next_id += 1
    graph, how, _ = _graph(rows, path)
    assert how == "updated"
    _assert_equal_to_exact(graph, rows.matrix())


def test_updated_pairs_above_threshold_match_a_full_recompute(tmp_path):
    from echo.dedup.ann import pairs_from_graph

    rows = Rows(400, seed=3)
    _graph(rows, tmp_path / KNN_FILE)
    rows.add(20)
    rows.remove(8)
    graph, how, _ = _graph(rows, tmp_path / KNN_FILE)
    full = knn_exact(l2_normalize(rows.matrix()), K)
    p1, s1 = pairs_from_graph(graph, 0.95)
    p2, s2 = pairs_from_graph(full, 0.95)
    assert how == "updated" and len(p1) >= 40
    assert np.array_equal(p1, p2) and np.array_equal(s1, s2)


def test_many_changes_recompute_in_full_with_the_same_result(tmp_path):
    path = tmp_path / KNN_FILE
    rows = Rows(300, seed=1)
    _graph(rows, path, max_share=0.2)
    rows.add(80)  # 80 of 380 rows are new: above the 20% share
    graph, how, searched = _graph(rows, path, max_share=0.2)
    assert (how, searched) == ("computed", 380)
    _assert_equal_to_exact(graph, rows.matrix())
    rows.add(5)
    assert _graph(rows, path, max_share=0.2)[1] == "updated"  # the full graph was stored for the next run


def test_corrupt_stale_or_damaged_file_means_a_full_recompute(tmp_path):
    path = tmp_path / KNN_FILE
    rows = Rows(200, seed=2)
    _graph(rows, path)
    rows.add(5)
    expected = knn_exact(l2_normalize(rows.matrix()), K)
    good = path.read_bytes()

    path.write_bytes(good[: len(good) // 2])  # truncated
    graph, how, _ = _graph(rows, path)
    assert how == "computed" and np.array_equal(graph.indices, expected.indices)
    assert np.array_equal(graph.sims, expected.sims)

    path.write_bytes(b"not an npz file")
    assert _graph(rows, path)[1] == "computed"

    # written for another embedding model: not read
    stored = read_npz(path, ("keys", "indices", "sims"), knn_settings("m", K))
    assert stored is not None  # the full recompute above wrote a good file again
    write_npz(path, knn_settings("other-model", K), **stored)
    rows.add(1)
    graph, how, _ = _graph(rows, path)
    assert how == "computed"
    _assert_equal_to_exact(graph, rows.matrix())

    # damaged content: a neighbour index out of range
    stored = read_npz(path, ("keys", "indices", "sims"), knn_settings("m", K))
    stored["indices"][3, 2] = len(stored["keys"]) + 10
    write_npz(path, knn_settings("m", K), **stored)
    rows.add(1)
    graph, how, _ = _graph(rows, path)
    assert how == "computed"
    _assert_equal_to_exact(graph, rows.matrix())

    # a folder that cannot be written: computed every time, no error
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    graph, how, _ = _graph(rows, blocked / KNN_FILE)
    assert how == "computed"
    _assert_equal_to_exact(graph, rows.matrix())


# --- the stage ---------------------------------------------------------------------------------------------------

SUBJECTS = ["a corgi", "an old lighthouse", "a red fox", "a vintage camera", "a bowl of ramen", "a paper boat",
            "a snowy mountain cabin", "a robot gardener", "a koi pond", "a jazz trio", "a desert caravan",
            "a glass teapot", "a city tram", "a hot air balloon"]
STYLES = ["as a watercolor painting", "in Studio Ghibli style", "as a claymation still", "as a pixel art sprite",
          "in neon cyberpunk light"]


def _prompt(i: int) -> str:
    base = f"{SUBJECTS[i % len(SUBJECTS)]} {STYLES[(i // len(SUBJECTS)) % len(STYLES)]}"
    if i % 7 == 3:
        return base + ", highly detailed"  # a near-duplicate of the plain prompt (when that one exists)
    if i % 11 == 5:
        return base.upper() + "!"  # an exact duplicate after normalization
    return base


def _insert(store, numbers):
    from echo.records import Post, Sample

    t0 = dt.datetime(2025, 3, 27, tzinfo=dt.UTC)
    for i in numbers:
        p = _prompt(i)
        store.upsert("posts", [Post(platform="x", post_id=str(i), text=p, like_count=i % 5, created_at=t0)])
        store.upsert("samples", [Sample(sample_id=f"s{i:03d}", platform="x", root_id=str(i), anchor_post_id=str(i),
                                        prompt=p, prompt_modified=False, quality="benchmark", extractor="rules",
                                        extractor_version="t", output_media=[], evidence_post_ids=[str(i)])])


@pytest.fixture(scope="module")
def embedder():
    from echo.dedup.embed import Embedder

    return Embedder()


def test_stage_rows_equal_a_run_without_the_stored_graph(store, config, embedder):
    from echo.pipeline import run_stage, start_run
    from echo.stages import dedup

    config.dedup.ann_neighbors = 5

    def run():
        ctx = start_run(config, store)
        ctx.resources.use_embedder(embedder)
        return run_stage(ctx, dedup.run)

    def rows():
        return store.query("SELECT * EXCLUDE (run_id) FROM duplicates ORDER BY sample_id")

    graph_path = config.path("data_dir") / KNN_FILE
    _insert(store, range(60))
    assert run()["knn_computed"] == 1 and graph_path.is_file()
    steps = [lambda: _insert(store, range(60, 64)),
             lambda: store.execute("UPDATE samples SET quality = 'trash' WHERE sample_id IN ('s003', 's040')"),
             lambda: store.execute("UPDATE samples SET prompt = 'a corgi in Studio Ghibli style, highly detailed' "
                                   "WHERE sample_id = 's010'"),
             lambda: (store.execute("DELETE FROM samples WHERE sample_id = 's061'"), _insert(store, [70, 71]))]
    for step in steps:
        step()
        stats = run()
        assert stats["knn_updated"] == 1 and 0 < stats["knn_rows_searched"] < 30
        incremental = rows()
        # the same input again, without the stored graph
        graph_path.unlink()
        store.execute("DELETE FROM duplicates")
        assert run()["knn_computed"] == 1
        assert rows() == incremental
    assert any(not r["is_canonical"] and r["method"] == "text" for r in incremental)
    assert any(not r["is_canonical"] and r["method"] == "exact" for r in incremental)


def test_a_takedown_deletes_the_stored_graph(config):
    """The file names sample ids and text hashes: after `forget` it goes, and the next dedup run recomputes it."""
    from echo.dedup.knn_cache import graph_path
    from echo.erasure import forget_in_derived_files

    rows = Rows(50, seed=4)
    cached_knn_graph(rows.matrix(), K, ann_min_rows=100_000, graph_file=GraphFile(graph_path(config), rows.keys, "m"))
    assert graph_path(config).is_file()
    res = forget_in_derived_files(config, {"s00001"}, author="someone")
    assert res.dedup_graph_dropped and not graph_path(config).exists()
    assert not forget_in_derived_files(config, {"s00001"}, author="someone").dedup_graph_dropped
