"""The media stage's memory stays flat as images grow in size and in number (issue 14).

Each case runs the media stage in a fresh process over K local JPEGs of side S (textured, so they neither compress
to nothing nor decode to a flat page) and reports the process's peak RSS. Holding decoded pixels would cost
about 3 x S^2 bytes per image (12 MB at 2048 px): forty of them would add some 480 MB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent("""
    import io, json, resource, sys
    from pathlib import Path
    import numpy as np
    from PIL import Image
    from echo import pipeline
    from echo.config import Config
    from echo.stages import media as mstage
    from echo.store import Store

    side, count, root = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    folder = root / "images"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    for i in range(count):
        tile = np.roll(base, i, axis=0)
        img = Image.fromarray(tile).resize((side, side), Image.Resampling.BILINEAR)
        img.save(folder / f"{i}.jpg", quality=85)
        del img
    config = Config()
    config.paths.db = str(root / "echo.duckdb")
    config.paths.media_dir = str(root / "media")
    config.media.url_map = {"https://images.invalid/": str(folder) + "/"}
    config.media.ocr = False
    with Store(config.path("db")) as store:
        store.upsert("posts", [{"platform": "x", "post_id": "r", "root_id": "r", "text": "made with 4o"}])
        store.upsert("relevance", [{"platform": "x", "post_id": "r", "judge": "llm", "passed": True,
                                    "model": "rules", "prompt_version": "t"}])
        store.upsert("post_media", [{"platform": "x", "post_id": "r", "url": f"https://images.invalid/{i}.jpg",
                                     "position": i} for i in range(count)])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ctx = pipeline.start_run(config, store)
        pipeline.run_stage(ctx, mstage.run)
        stored = store.scalar("SELECT count(*) FROM media WHERE status = 'ok'")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"stored": stored, "before_mb": before / 1024, "peak_mb": peak / 1024}))
""")


def _peak(tmp_path, side: int, count: int) -> dict:
    root = tmp_path / f"{side}-{count}"
    out = subprocess.run([sys.executable, "-c", CHILD, str(side), str(count), str(root)], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["stored"] == count
    return got


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_image_size_or_count(tmp_path):
    small = _peak(tmp_path, 256, 40)
    large = _peak(tmp_path, 2048, 40)
    many = _peak(tmp_path, 2048, 120)
    print(small, large, many)
    # one decoded 2048 px image per decoder thread (12 MB each, plus resize buffers) and a few fetched files
    # waiting for them are allowed for; forty held images would be ~480 MB more, and files read ahead of the
    # decoders without a bound cost +176 MB here
    assert large["peak_mb"] - small["peak_mb"] < 100  # measured: +41 MB
    # three times the images: no more memory (the stage streams, it does not collect)
    assert many["peak_mb"] - large["peak_mb"] < 40  # measured: +14 MB
