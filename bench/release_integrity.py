"""What the release integrity checks cost: the content hash recomputed from a release's Parquet rows (every
verify, freeze of a child release and echo.load), and compacting the database after a takedown.

    python -m bench.release_integrity [--rows 10000 100000] [--posts 100000]

Synthetic rows follow the text_to_image row schema (one output image ref, two feedback entries).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq


def _rows(n: int) -> list[dict]:
    t0 = dt.datetime(2025, 3, 25, tzinfo=dt.UTC)
    out = []
    for i in range(n):
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        out.append({
            "id": f"s_{i:08d}", "prompt": f"a watercolor fox number {i} reading a newspaper in the rain, studio light",
            "prompt_modified": False, "prompt_fill_blank": None, "task": "text_to_image", "input_images": [],
            "output_images": [{"sha256": sha, "path": f"{sha[:2]}/{sha}.png", "url": None, "width": 1024,
                               "height": 1024}],
            "community_feedback": [{"polarity": "failure", "keywords": ["text", "gibberish"],
                                    "categories": ["text rendering"], "author": f"u_{sha[:16]}"}] * 2,
            "has_nsfw": False, "platform": "x", "posted_at": t0 + dt.timedelta(minutes=i), "author": f"u_{sha[16:32]}",
            "post_url": None, "duplicate_group_id": None, "cluster_id": i % 50, "cluster_label": "fox, watercolor",
            "provenance": {"run_ids": ["run-1"], "extractor": "rules", "extractor_version": "rules-1"}})
    return out


def bench_content_hash(n: int, folder: Path) -> dict:
    from echo.release.freeze import PARQUET_OPTIONS
    from echo.release.rows import to_table
    from echo.release.verify import iter_rows, rows_hash, sha256_file

    path = folder / f"t2i-{n}.parquet"
    pq.write_table(to_table("text_to_image", _rows(n)), path, **PARQUET_OPTIONS)
    t = time.perf_counter()
    sha256_file(path)
    sha_s = time.perf_counter() - t
    t = time.perf_counter()
    rows_hash({"text_to_image": iter_rows(path)})
    return {"rows": n, "file_mb": path.stat().st_size / 1e6, "sha256_s": sha_s, "content_hash_s": time.perf_counter() - t}


def bench_compact(n: int, folder: Path) -> dict:
    from echo import records
    from echo.release.forget import compact_database
    from echo.store import Store

    db = folder / f"compact-{n}.duckdb"
    with Store(db) as store:
        for start in range(0, n, 50_000):
            store.upsert("posts", [records.Post(platform="x", post_id=str(i), author=f"user{i % 5000}",
                                                text=f"post {i} about 4o image generation, prompt: a fox number {i}",
                                                raw={"id": str(i)}, source="bench")
                                   for i in range(start, min(n, start + 50_000))])
        store.execute("DELETE FROM posts WHERE author = 'user7'")
        t = time.perf_counter()
        before, after = compact_database(store)
    return {"posts": n, "mb_before": before / 1e6, "mb_after": after / 1e6, "compact_s": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--posts", type=int, nargs="*", default=[100_000])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for n in args.rows:
            r = bench_content_hash(n, Path(d))
            print(f"content hash: {r['rows']:,} rows, {r['file_mb']:.1f} MB Parquet: sha256 {r['sha256_s']:.2f} s, "
                  f"content hash {r['content_hash_s']:.2f} s")
        for n in args.posts:
            r = bench_compact(n, Path(d))
            print(f"compact: {r['posts']:,} posts, {r['mb_before']:.1f} MB -> {r['mb_after']:.1f} MB in "
                  f"{r['compact_s']:.2f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
