"""Acceptance on the bundled corpus: its images and chat screenshots downloaded from a 127.0.0.1 server
(corpus URLs mapped to it), validated, hashed and stored; the screenshot prompts transcribed offline."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from pathlib import Path

import pytest

from echo import pipeline
from echo.media import evaluate
from echo.stages import crawl
from echo.stages import media as mstage
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "samples"
PREFIX = "https://echo-samples.invalid/media/"

pytestmark = pytest.mark.slow  # OCR of every corpus screenshot


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "answers.json").is_file() or not any((CORPUS / "media").glob("*")):
        pytest.skip("data/samples has no answer key or media yet: run scripts/make_samples.py")
    try:
        import echo.stages.crawl  # noqa: F401
    except ImportError as e:
        pytest.skip(f"the import stage is not available: {e}")
    return CORPUS


@pytest.fixture
def media_server(corpus):
    """Serves data/samples/media at http://127.0.0.1:<port>/media/ (query strings ignored, like a CDN)."""
    folder = corpus / "media"
    hits: dict[str, int] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            hits[path] = hits.get(path, 0) + 1
            name = path.removeprefix("/media/")
            f = folder / name
            if "/" in name or not f.is_file():
                self.send_response(404)
                self.end_headers()
                return
            body = f.read_bytes()
            ctype = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
                     "gif": "image/gif"}.get(f.suffix.lstrip(".").lower(), "application/octet-stream")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/media/", hits
    httpd.shutdown()
    httpd.server_close()


def _import_corpus_and_keep_every_tree(config, store: Store, answers: dict) -> None:
    """Posts and post_media through the real import stage; every answer-key root marked as passing."""
    ctx = pipeline.start_run(config, store)
    pipeline.run_stage(ctx, crawl.run)
    assert store.count("post_media") > 0, "the import stage stored no images"
    store.upsert("relevance", [
        {"platform": t["platform"], "post_id": t["root_post_id"], "judge": "llm", "passed": True,
         "model": "test", "prompt_version": "all-trees"} for t in answers["trees"]
    ])


def test_corpus_images_over_a_local_server_and_screenshot_ocr(config, media_server, corpus, capsys):
    base, hits = media_server
    answers = json.loads((corpus / "answers.json").read_text())
    config.media.url_map = {}
    config.media.allow_loopback = True
    with Store(config.path("db")) as store:
        _import_corpus_and_keep_every_tree(config, store, answers)
        # map the corpus URLs to the local server (same paths, query strings kept)
        rows = store.query("SELECT * FROM post_media")
        store.delete("post_media", "true")
        store.upsert("post_media", [{**r, "url": r["url"].replace(PREFIX, base)} for r in rows])
        kept = mstage.kept_media_urls(store)
        assert kept and all(u.startswith(base) for u in kept)

        ctx = pipeline.start_run(config, store)
        pipeline.run_stage(ctx, mstage.run)
        stats = ctx.stage_stats("media")
        media = {r["url"]: r for r in store.query("SELECT * FROM media WHERE parent_url IS NULL")}
        failed = {u: r["error"] for u, r in media.items() if r["status"] != "ok"}
        assert not failed, failed
        assert set(media) == set(kept)
        assert stats["downloaded"] == len(kept) and stats["local"] == 0
        for r in media.values():
            assert r["format"] in ("PNG", "JPEG", "WEBP") and len(r["phash"]) == 16 and r["width"] > 0
            assert (config.path("media_dir") / r["path"]).is_file()
            assert r["path"].endswith({"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[r["format"]])
        # content addressing: one file per distinct content; reddit's ?width= preview URLs share files
        files = {r["sha256"] for r in media.values()}
        stored = [f for f in config.path("media_dir").glob("??/*") if f.is_file()]
        assert len(stored) == store.scalar("SELECT count(DISTINCT sha256) FROM media WHERE status = 'ok'")
        assert stats["deduplicated"] == len(media) - len(files)

        # every corpus image referenced by a sample is stored
        wanted = {u.replace(PREFIX, base) for t in answers["trees"] for s in t["samples"]
                  for u in s["input_images"] + s["output_images"]}
        missing = wanted - {u for u, r in media.items() if r["status"] == "ok"}
        assert not missing, sorted(missing)[:5]

        # screenshots: found, transcribed offline, scored against the answer key
        truths = evaluate.screenshot_truths(corpus / "answers.json")
        assert truths
        scores = []
        for truth in truths:
            url = truth["url"].replace(PREFIX, base)
            row = store.query("SELECT prompt, boxes, is_chat FROM screenshot_ocr WHERE url = ?", [url])
            assert row, f"{truth['url']} was not OCR'd"
            assert row[0]["is_chat"], truth["url"]
            scores.append(evaluate.score(row[0], {**truth, "url": url}))
        flagged = {r["url"] for r in store.query("SELECT url FROM media WHERE is_screenshot")}
        assert flagged == {t["url"].replace(PREFIX, base) for t in truths}  # no false positives either
        with capsys.disabled():
            print("\nscreenshot OCR on the corpus (similarity = difflib ratio, cer = character error rate):")
            for s in scores:
                print(f"  {s['url'].rsplit('/', 1)[1]:<28} similarity {s['similarity']:.3f}  cer {s['cer']:.3f}  "
                      f"IoU input {s['iou'].get('input', 0):.3f} output {s['iou'].get('output', 0):.3f}")
        for s in scores:
            assert s["similarity"] >= 0.9, s
            assert min(s["iou"].values()) >= 0.8, s
        assert stats["crops"] == sum(s["found_boxes"] for s in scores)

        # a re-run makes no request and changes nothing
        before = dict(hits)
        snapshot = store.query("SELECT * FROM media ORDER BY url")
        ctx2 = pipeline.start_run(config, store)
        pipeline.run_stage(ctx2, mstage.run)
        assert hits == before
        assert store.query("SELECT * FROM media ORDER BY url") == snapshot
        assert ctx2.stage_stats("media")["ocr"] == 0


def test_corpus_images_from_the_url_map_offline(config, corpus):
    """The default configuration reads the corpus from data/samples/media through url_map: no network."""
    answers = json.loads((corpus / "answers.json").read_text())
    config.media.ocr = False
    with Store(config.path("db")) as store:
        _import_corpus_and_keep_every_tree(config, store, answers)
        ctx = pipeline.start_run(config, store)
        pipeline.run_stage(ctx, mstage.run)
        stats = ctx.stage_stats("media")
        statuses = {r["status"]: r["n"] for r in store.query("SELECT status, count(*) AS n FROM media GROUP BY 1")}
        assert statuses == {"ok": len(mstage.kept_media_urls(store))}
        assert stats["local"] == statuses["ok"] and stats["downloaded"] == 0
