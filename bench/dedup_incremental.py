"""Benchmark: the dedup k-NN graph updated from the last run's (echo.dedup.knn_cache) vs computed in full.

    python -m bench.dedup_incremental [--rows 15000] [--new 150] [--gone 10] [--k 15] [--repeat 3]

Synthetic 384-d prompt embeddings (bench.synthetic: topics with planted near-duplicates), below
dedup.ann_min_rows so the graph is exact. One process, side by side: the full knn_exact over the current rows,
and the update of the stored graph after `--new` rows were added and `--gone` removed (read the file, search,
merge, write it back). Both are checked to be equal. Times are the best of --repeat; peak memory is
tracemalloc's (numpy's allocations) in one more, untimed run of each step; the machine's load average is
printed with the figures. Prints one JSON line and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path


def _timed(fn, repeat: int, setup=lambda: None):
    """(result, best wall s, its cpu s, peak traced MB): `repeat` timed runs, then one under tracemalloc (which
    slows allocations, so it is not timed). `setup` runs before each, untimed."""
    best = None
    for _ in range(repeat):
        setup()
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if best is None or wall < best[0]:
            best = (wall, cpu)
    setup()
    tracemalloc.start()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, round(best[0], 3), round(best[1], 3), round(peak, 1)


def measure(rows: int, new: int, gone: int, k: int, repeat: int, seed: int = 0) -> dict:
    import numpy as np

    from bench.synthetic import synthetic_embeddings
    from echo.dedup.ann import knn_exact, l2_normalize
    from echo.dedup.knn_cache import KNN_FILE, GraphFile, cached_knn_graph, row_key

    x_all, _, _ = synthetic_embeddings(rows + new, seed=seed)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(rows + new)  # the new rows land anywhere in sample-id order
    old_rows, new_rows = np.sort(perm[:rows]), perm[rows:]
    keys = np.array([row_key(f"s{i:07d}", f"{i:032x}") for i in range(rows + new)])
    gone_rows = rng.choice(old_rows, size=gone, replace=False)
    cur_rows = np.sort(np.setdiff1d(np.concatenate([old_rows, new_rows]), gone_rows))
    x_old, x_cur = x_all[old_rows], x_all[cur_rows]  # as loaded from the store; both paths normalize them
    out: dict = {"rows": rows, "new": new, "gone": gone, "k": k, "dim": int(x_all.shape[1]),
                 "load_avg": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / KNN_FILE
        cached_knn_graph(x_old, k, ann_min_rows=10**9, graph_file=GraphFile(path, keys[old_rows].tolist(), "bench"))
        out["file_mb"] = round(path.stat().st_size / 2**20, 2)
        seed_file = path.read_bytes()
        full, out["full_s"], out["full_cpu_s"], out["full_peak_mb"] = _timed(lambda: knn_exact(l2_normalize(x_cur), k), repeat)

        def update():
            return cached_knn_graph(x_cur, k, ann_min_rows=10**9,
                                    graph_file=GraphFile(path, keys[cur_rows].tolist(), "bench"))

        (graph, how, searched), out["update_s"], out["update_cpu_s"], out["update_peak_mb"] = _timed(
            update, repeat, setup=lambda: path.write_bytes(seed_file))  # the previous run's graph again
        _, out["reuse_s"], _, _ = _timed(lambda: cached_knn_graph(
            x_cur, k, ann_min_rows=10**9, graph_file=GraphFile(path, keys[cur_rows].tolist(), "bench")), repeat)
    assert how == "updated", how
    out["rows_searched"] = searched
    out["equal_to_full"] = bool(np.array_equal(graph.indices, full.indices) and np.array_equal(graph.sims, full.sims))
    out["update_share_of_full"] = round(out["update_s"] / out["full_s"], 4)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def markdown(r: dict) -> str:
    return "\n".join([
        "| rows | +new / -gone | full knn_exact s (cpu s) | update s (cpu s) | update / full | rows searched | "
        "same rows read back s | peak MB full / update | equal | file MB | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {r['rows']:,} | +{r['new']} / -{r['gone']} | {r['full_s']} ({r['full_cpu_s']}) | {r['update_s']} "
        f"({r['update_cpu_s']}) | {r['update_share_of_full']:.1%} | {r['rows_searched']} | {r['reuse_s']} | "
        f"{r['full_peak_mb']} / {r['update_peak_mb']} | {r['equal_to_full']} | {r['file_mb']} | "
        f"{' '.join(map(str, r['load_avg']))} |"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.dedup_incremental", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=15_000)
    p.add_argument("--new", type=int, default=150)
    p.add_argument("--gone", type=int, default=10)
    p.add_argument("--k", type=int, default=15, help="neighbours incl. self (dedup.ann_neighbors)")
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs of each step")
    args = p.parse_args(argv)
    r = measure(args.rows, args.new, args.gone, args.k, args.repeat)
    print(json.dumps(r), flush=True)
    print(markdown(r))
    return 0 if r["equal_to_full"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
