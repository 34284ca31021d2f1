"""Benchmark: near-duplicate search + clustering on synthetic 384-d embeddings (after embedding).

    python -m bench.dedup_cluster [--sizes 10000,100000,1000000] [--recall-sample 20000] [--warm]

Each size runs in its own subprocess so peak memory (ru_maxrss) is per size. Timed: near-dup = k-NN graph
(exact blocks below dedup.ann_min_rows, pynndescent above) + pairs >= dedup.text_threshold + union-find
groups; cluster = UMAP + HDBSCAN (+ 2-D UMAP, + assignment of rows outside the fitted subsample), reusing
the k-NN graph as the pipeline does. Not timed: making the data and the recall check, which compares the
pairs found with brute force for every true pair touching `--recall-sample` random rows.
Times include numba's JIT compilation (pynndescent, UMAP) unless --warm, which compiles first on a tiny
set: a nightly run pays it once per process. CPU seconds are reported next to wall seconds because the
machine is shared. Prints one JSON line per size and a Markdown table. Peak RSS is measured before the recall check (which
needs memory of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(n: int, recall_sample: int, warm: bool, seed: int = 0) -> dict:
    import numpy as np

    from bench.synthetic import synthetic_embeddings
    from echo.config import ClusterSettings, DedupSettings
    from echo.dedup.ann import near_duplicate_pairs, pair_recall
    from echo.dedup.cluster import cluster_embeddings
    from echo.dedup.unionfind import UnionFind

    dcfg, ccfg = DedupSettings(), ClusterSettings()
    k = max(dcfg.ann_neighbors, ccfg.umap_neighbors)
    if warm:
        xw, _, _ = synthetic_embeddings(3000, seed=99)
        g = near_duplicate_pairs(xw, dcfg.text_threshold, k=k, ann_min_rows=0)[2]
        cluster_embeddings(xw, ClusterSettings(small_set=300, max_fit_samples=2000), graph=g, ann_min_rows=0)
    x, topic, dup_of = synthetic_embeddings(n, seed=seed)
    out: dict = {"size": n, "warm": warm, "dim": int(x.shape[1])}

    t0, c0 = time.perf_counter(), _cpu()
    pairs, sims, graph = near_duplicate_pairs(x, dcfg.text_threshold, k=k, ann_min_rows=dcfg.ann_min_rows,
                                              random_state=ccfg.random_state)
    uf = UnionFind(n)
    uf.union_pairs(pairs)
    roots = uf.roots()
    out.update(neardup_s=round(time.perf_counter() - t0, 2), neardup_cpu_s=round(_cpu() - c0, 2),
               knn=graph.method, pairs=int(len(pairs)), groups_gt1=int((np.bincount(roots) > 1).sum()))
    print(f"[{n}] near-dup {out['neardup_s']}s", file=sys.stderr, flush=True)

    t0, c0 = time.perf_counter(), _cpu()
    result = cluster_embeddings(x, ccfg, graph=graph, ann_min_rows=dcfg.ann_min_rows)
    out.update(cluster_s=round(time.perf_counter() - t0, 2), cluster_cpu_s=round(_cpu() - c0, 2),
               cluster_fit_samples=result.params.get("fit_samples", n),
               clusters=int(len(set(result.labels.tolist())) - (-1 in result.labels)),
               noise_share=round(float((result.labels == -1).mean()), 4))
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"[{n}] cluster {out['cluster_s']}s, peak {out['peak_rss_mb']} MB", file=sys.stderr, flush=True)

    planted = dup_of >= 0
    out["planted_dup_recall"] = round(float((roots[planted] == roots[dup_of[planted]]).mean()), 4) if planted.any() else 1.0
    from sklearn.metrics import adjusted_rand_score

    out["cluster_ari_vs_topics"] = round(float(adjusted_rand_score(topic, result.labels)), 4)
    t0 = time.perf_counter()
    rec = pair_recall(x, pairs, dcfg.text_threshold, sample_size=recall_sample, seed=seed)
    out.update(recall_vs_brute_force=round(rec["recall"], 4), group_recall=round(rec["group_recall"], 4),
               recall_true_pairs=rec["true_pairs"], recall_sample_rows=rec["sample_rows"],
               recall_check_s=round(time.perf_counter() - t0, 1))
    return out


def markdown(rows: list[dict]) -> str:
    head = ("| size | k-NN | near-dup s (cpu s) | cluster s (cpu s) | fit rows | peak RSS MB | recall vs brute force "
            "(20k sample) | planted-dup recall | ARI vs topics |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['size']:,} | {r['knn']} | {r['neardup_s']} ({r['neardup_cpu_s']}) | {r['cluster_s']} "
                     f"({r['cluster_cpu_s']}) | {r['cluster_fit_samples']:,} | {r['peak_rss_mb']} | "
                     f"{r['recall_vs_brute_force']} ({r['recall_true_pairs']} pairs, {r['recall_sample_rows']:,} rows) | "
                     f"{r['planted_dup_recall']} | {r['cluster_ari_vs_topics']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.dedup_cluster", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,100000", help="comma-separated row counts")
    p.add_argument("--recall-sample", type=int, default=20_000)
    p.add_argument("--warm", action="store_true", help="JIT-compile on a tiny set before timing")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.recall_sample, args.warm)), flush=True)
        return 0
    rows = []
    for n in [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]:
        cmd = [sys.executable, "-m", "bench.dedup_cluster", "--one", str(n), "--recall-sample", str(args.recall_sample)]
        if args.warm:
            cmd.append("--warm")
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if proc.returncode != 0:
            print(f"size {n} failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    if len(rows) >= 2:
        by = {r["size"]: r for r in rows}
        if 10_000 in by and 100_000 in by:
            t10 = by[10_000]["neardup_s"] + by[10_000]["cluster_s"]
            t100 = by[100_000]["neardup_s"] + by[100_000]["cluster_s"]
            print(f"growth 10k -> 100k: {t100 / t10:.1f}x (target <= 12x); 100k total {t100:.0f}s (target < 120s)")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
