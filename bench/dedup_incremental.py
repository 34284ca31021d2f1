"""Benchmark: the dedup k-NN graph updated from the last run's (echo.dedup.knn_cache) vs computed in full.

    python -m bench.dedup_incremental [--rows 15000] [--new 150] [--gone 10] [--k 15] [--repeat 3] [--stage]

Synthetic 384-d prompt embeddings (bench.synthetic: topics with planted near-duplicates), below
dedup.ann_min_rows so the graph is exact. One process, side by side: the full knn_exact over the current rows,
and the update of the stored graph after `--new` rows were added and `--gone` removed (read the file, search,
merge, write it back). Both are checked to be equal. Times are the best of --repeat; peak memory is
tracemalloc's (numpy's allocations) in one more, untimed run of each step; the machine's load average is
printed with the figures. Prints one JSON line and a Markdown table. --stage times the whole dedup stage
instead (loading, image pairs, groups, writing rows): full, then updated, then the same state in full.
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


def measure_stage(samples: int, new: int, gone: int, seed: int = 0) -> dict:
    """The dedup stage over a store of `samples` samples (synthetic prompt vectors in the embedding cache, one
    output image each with a pHash): a full run; `new` samples added and `gone` made trash, run with the graph
    the full run stored; and the same state once more without it (deleted), which must write the same rows."""
    import datetime as dt

    import numpy as np

    from bench.synthetic import synthetic_embeddings
    from echo.config import load_config
    from echo.dedup.knn_cache import graph_path
    from echo.dedup.normalize import embedding_key
    from echo.pipeline import run_stage, start_run
    from echo.records import Media, Post, Sample
    from echo.stages import dedup
    from echo.store import Store

    root = Path(__file__).resolve().parent.parent
    x, _, _ = synthetic_embeddings(samples + new, seed=seed)
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**63, size=samples + new, dtype=np.int64).astype(np.uint64)
    near = rng.choice(samples + new, size=(samples + new) // 10, replace=False)  # re-encoded reposts: 1-3 bits off
    hashes[near] = hashes[rng.choice(samples + new, size=near.size)] ^ np.uint64(1 << int(rng.integers(64)))
    t0 = dt.datetime(2025, 3, 27, tzinfo=dt.UTC)
    out: dict = {"samples": samples, "new": new, "gone": gone}
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(root / "echo.toml", env={})
        config.base_dir = tmp
        config.paths.data_dir = tmp
        config.paths.db = str(Path(tmp) / "echo.duckdb")
        model = config.embed.cache_name

        def add(numbers) -> None:
            prompts = {i: f"synthetic prompt {i}" for i in numbers}
            store.upsert("posts", [Post(platform="x", post_id=str(i), text=prompts[i], like_count=i % 7, created_at=t0)
                                   for i in numbers])
            store.upsert("samples", [Sample(
                sample_id=f"s{i:07d}", platform="x", root_id=str(i), anchor_post_id=str(i), prompt=prompts[i],
                prompt_modified=False, quality="benchmark", extractor="rules", extractor_version="bench",
                output_media=[f"https://img.invalid/{i}.png"], evidence_post_ids=[str(i)]) for i in numbers])
            store.upsert("media", [Media(url=f"https://img.invalid/{i}.png", status="ok", phash=f"{int(hashes[i]):016x}")
                                   for i in numbers])
            store.upsert("embeddings", [{"text_hash": embedding_key(prompts[i]), "model": model, "dim": x.shape[1],
                                         "vector": x[i].tolist()} for i in numbers], ignore_existing=True)

        def run() -> tuple[float, dict]:
            ctx = start_run(config, store)
            t = time.perf_counter()
            stats = run_stage(ctx, dedup.run)
            return round(time.perf_counter() - t, 2), dict(stats)

        def rows() -> list[dict]:
            return store.query("SELECT * EXCLUDE (run_id) FROM duplicates ORDER BY sample_id")

        with Store(config.path("db")) as store:
            add(range(samples))
            out["full_s"], _ = run()
            add(range(samples, samples + new))
            trash = [f"s{i:07d}" for i in rng.choice(samples, size=gone, replace=False)]
            store.execute("UPDATE samples SET quality = 'trash' WHERE sample_id IN (SELECT unnest(?::VARCHAR[]))",
                          [trash])
            out["update_s"], stats = run()
            out["update_knn"] = "updated" if stats.get("knn_updated") else "not updated"
            out["rows_searched"] = stats.get("knn_rows_searched")
            incremental = rows()
            graph_path(config).unlink()
            store.execute("DELETE FROM duplicates")
            out["same_state_full_s"], _ = run()
            out["same_rows"] = rows() == incremental
    out["update_share_of_full"] = round(out["update_s"] / out["same_state_full_s"], 4)
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
    p.add_argument("--stage", action="store_true",
                   help="time the whole dedup stage over a store instead (full, +new/-gone updated, the same in full)")
    args = p.parse_args(argv)
    if args.stage:
        r = measure_stage(args.rows, args.new, args.gone)
        r["load_avg"] = [round(v, 2) for v in os.getloadavg()]
        print(json.dumps(r), flush=True)
        return 0 if r["same_rows"] else 1
    r = measure(args.rows, args.new, args.gone, args.k, args.repeat)
    print(json.dumps(r), flush=True)
    print(markdown(r))
    return 0 if r["equal_to_full"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
