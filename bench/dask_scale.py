"""Embed and media throughput with the local runner and with 1, 2 and 4 Dask workers (a LocalCluster on this
machine), on a scale corpus; and how much of the run stays serial (the stages that are not partitioned, and the
coordinator's DuckDB ingest).

    .venv/bin/python -m bench.scale_corpus --posts 3000 --out /tmp/echo-scale-3k    # (branch `scale`)
    .venv/bin/python bench/dask_scale.py --corpus /tmp/echo-scale-3k [--workers 1 2 4] [--json out.json]

crawl, filter, prefilter and relevance run once (local runner) into a base database. Each runner then gets a copy
of it and an empty media folder, and runs media, extract, embed, dedup and cluster, so media and embed start from
the same pending work. "start" is the time to bring the cluster up (workers load their model and OCR engine inside
the first partition they run, which is counted in that stage, as in a real run). A first local pass (not reported)
pays this process's one-off costs, such as the UMAP JIT compile of the cluster stage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from echo import pipeline  # noqa: E402
from echo.config import RunnerSettings, load_config  # noqa: E402
from echo.stages import cluster, crawl, dedup, embed, extract, filter, media, prefilter, relevance  # noqa: E402
from echo.store import Store  # noqa: E402

BASE_STAGES = (crawl, filter, prefilter, relevance)
MEASURED_STAGES = (media, extract, embed, dedup, cluster)
DISTRIBUTED = ("media", "embed")


def base_database(corpus: Path, work: Path) -> Path:
    config = load_config(corpus / "echo.toml", env={})
    config.paths.db = str(work / "base.duckdb")
    config.paths.media_dir = str(work / "base-media")
    with Store(config.paths.db) as store:
        ctx = pipeline.start_run(config, store, trigger="bench")
        for stage in BASE_STAGES:
            pipeline.run_stage(ctx, stage.run)
        pipeline.finish_run(ctx)
        print(f"base: {store.count('posts')} posts, {dict(ctx.seconds)}", flush=True)
    return Path(config.paths.db)


def measure(corpus: Path, work: Path, base_db: Path, name: str, settings: RunnerSettings) -> dict:
    config = load_config(corpus / "echo.toml", env={})
    config.runner = settings
    db = work / f"{name}.duckdb"
    shutil.copy(base_db, db)
    config.paths.db = str(db)
    config.paths.media_dir = str(work / f"{name}-media")
    with Store(db) as store:
        ctx = pipeline.start_run(config, store, trigger="bench")
        t0 = time.perf_counter()
        ctx.resources.runner  # noqa: B018 - bring the cluster up before the clock of the first stage starts
        start = time.perf_counter() - t0
        for stage in MEASURED_STAGES:
            pipeline.run_stage(ctx, stage.run)
        pipeline.finish_run(ctx)
        stats = {k: dict(v) for k, v in ctx.stats.items()}
    seconds = {k: round(v, 2) for k, v in ctx.seconds.items()}
    total = sum(seconds[s.__name__.rpartition(".")[2]] for s in MEASURED_STAGES)
    media_items = stats["media"].get("stored", 0) + stats["media"].get("failed", 0)
    row = {
        "runner": name, "start_s": round(start, 2), "seconds": seconds,
        "media_images": media_items, "media_screenshots_checked": stats["media"].get("screenshot_checked", 0),
        "media_per_s": round(media_items / seconds["media"], 1) if seconds["media"] else None,
        "embed_prompts": stats["embed"].get("embedded", 0),
        "embed_per_s": round(stats["embed"].get("embedded", 0) / seconds["embed"], 1) if seconds["embed"] else None,
        "serial_share": round(sum(v for k, v in seconds.items() if k not in DISTRIBUTED) / total, 3),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="a folder written by bench/scale_corpus.py")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print("load:", os.getloadavg(), "cpus:", os.cpu_count(), flush=True)
    with tempfile.TemporaryDirectory(prefix="echo-dask-scale-") as tmp:
        work = Path(tmp)
        base_db = base_database(args.corpus, work)
        # a first pass pays this process's one-off costs (UMAP/numba JIT in cluster, ~35 s), then the measured ones
        measure(args.corpus, work, base_db, "warm-up", RunnerSettings())
        rows = [measure(args.corpus, work, base_db, "local", RunnerSettings())]
        for n in args.workers:
            rows.append(measure(args.corpus, work, base_db, f"dask-{n}", RunnerSettings(kind="dask", workers=n)))
    print("load after:", os.getloadavg())
    print("\n| runner | cluster start s | media s | images/s | embed s | prompts/s | extract s | dedup s | cluster s "
          "| serial share |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s = r["seconds"]
        print(f"| {r['runner']} | {r['start_s']} | {s['media']} | {r['media_per_s']} | {s['embed']} | {r['embed_per_s']} "
              f"| {s['extract']} | {s['dedup']} | {s['cluster']} | {r['serial_share']} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
