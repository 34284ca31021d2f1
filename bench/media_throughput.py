"""Media stage speed: download + validate + hash + store N images from a 127.0.0.1 server, then the
re-run (should fetch nothing), and OCR seconds per chat screenshot of the bundled corpus.

    .venv/bin/python bench/media_throughput.py [--images 200] [--size 512] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import http.server
import io
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from echo import pipeline  # noqa: E402
from echo.config import load_config  # noqa: E402
from echo.media import evaluate, ocr  # noqa: E402
from echo.stages import media  # noqa: E402
from echo.store import Store  # noqa: E402


def make_images(n: int, size: int) -> dict[str, tuple[bytes, str]]:
    rnd = random.Random(7)
    out = {}
    for i in range(n):
        img = Image.new("RGB", (size, size), tuple(rnd.randrange(256) for _ in range(3)))
        d = ImageDraw.Draw(img)
        for _ in range(12):
            x, y, s = rnd.randrange(size), rnd.randrange(size), rnd.randrange(16, size // 2)
            d.ellipse([x, y, x + s, y + s], fill=tuple(rnd.randrange(256) for _ in range(3)))
        buf = io.BytesIO()
        fmt, ctype = (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"))[i % 3]
        img.save(buf, format=fmt)
        out[f"/img/{i}.{fmt.lower()}"] = (buf.getvalue(), ctype)
    return out


def serve(files: dict[str, tuple[bytes, str]]):
    hits = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            hits["n"] += 1
            body, ctype = files.get(self.path, (b"", "text/plain"))
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, hits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    files = make_images(args.images, args.size)
    total_bytes = sum(len(b) for b, _ in files.values())
    httpd, hits = serve(files)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(ROOT / "echo.toml", env={})
        cfg.base_dir = tmp
        cfg.paths.db = str(Path(tmp) / "echo.duckdb")
        cfg.paths.media_dir = str(Path(tmp) / "media")
        cfg.media.allow_loopback = True
        cfg.media.concurrency = args.concurrency
        cfg.media.url_map = {}
        with Store(cfg.paths.db) as store:
            store.upsert("posts", [{"platform": "x", "post_id": "1", "root_id": "1"}])
            store.upsert("relevance", [{"platform": "x", "post_id": "1", "judge": "llm", "passed": True, "score": 5,
                                        "model": "bench", "prompt_version": "b"}])
            store.upsert("post_media", [{"platform": "x", "post_id": "1", "url": base + p, "position": i}
                                        for i, p in enumerate(files)])
            t0 = time.perf_counter()
            s = pipeline.run_stage(pipeline.start_run(cfg, store), media.run)
            first = time.perf_counter() - t0
            print(f"first run: {s['stored']} stored, {s['failed']} failed, {total_bytes / 1e6:.1f} MB in {first:.2f} s "
                  f"= {s['stored'] / first:.1f} images/s, {total_bytes / 1e6 / first:.1f} MB/s "
                  f"(includes the screenshot check of every image)")
            print("  counts: " + ", ".join(f"{k}={v}" for k, v in sorted(s.items())))
            before = hits["n"]
            t0 = time.perf_counter()
            pipeline.run_stage(pipeline.start_run(cfg, store), media.run)
            print(f"re-run: {hits['n'] - before} requests, {time.perf_counter() - t0:.2f} s")
    httpd.shutdown()

    answers = ROOT / "data" / "samples" / "answers.json"
    if answers.is_file():
        ocr.transcribe_screenshot(Image.new("RGB", (400, 400), "white"))  # load the models once
        for truth in evaluate.screenshot_truths(answers):
            path = ROOT / "data" / "samples" / "media" / truth["url"].rsplit("/", 1)[1]
            t0 = time.perf_counter()
            got = ocr.transcribe_screenshot(path)
            sec = time.perf_counter() - t0
            sc = evaluate.score(got, truth)
            print(f"OCR {path.name:<26} {sec:5.2f} s  similarity {sc['similarity']:.3f}  cer {sc['cer']:.3f}  "
                  f"IoU {sc['iou']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
