"""A hostile LLM endpoint: hangs, answers HTML with 200, rate-limits forever, or never gets asked an image URL.

Each test asserts that no row is lost or made up (relevance rows, llm_failures) and that the run says clearly what
happened (status, problems, error), without waiting on the endpoint for long.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from echo import pipeline
from echo.llm.openai_backend import RateLimiter
from fake_openai import FakeOpenAI
from llm_helpers import add, image, post


class BrokenEndpoint:
    """An OpenAI-compatible address that misbehaves in one way: "hang", "html" (200 text/html) or "429"."""

    def __init__(self, mode: str, hang_s: float = 30.0):
        self.mode, self.hang_s, self.calls = mode, hang_s, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.calls += 1
                if outer.mode == "hang":
                    time.sleep(outer.hang_s)
                    return
                if outer.mode == "html":
                    body, status, ctype = b"<html><body>502 Bad Gateway (proxy)</body></html>", 200, "text/html"
                else:
                    body, status, ctype = b'{"error": {"message": "slow down"}}', 429, "application/json"
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                if status == 429:
                    self.send_header("retry-after", "0.01")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _posts(n: int = 6):
    return [post(str(i), f"GPT-4o image gen made this poster {i}", author=f"u{i}", minutes=i) for i in range(n)]


def _clean_relevance(config, posts) -> str:
    """The relevance table's content hash after a run against a healthy endpoint: what a faulty run must reach."""
    from echo.store import Store

    with Store() as clean, FakeOpenAI() as fake:
        add(clean, posts)
        config.llm.base_url = fake.base_url
        pipeline.refresh(config, clean, only=["relevance"])
        return clean.content_hash("relevance")


def _configure(config, base_url: str) -> None:
    config.llm.base_url = base_url
    config.llm.relevance_batch_size = 1
    config.llm.timeout_s = 0.5
    config.llm.max_retries = 1
    config.llm.backoff_base_s = 0.01
    config.llm.breaker_failures = 3
    config.llm.concurrency = 2


@pytest.mark.parametrize("mode", ["hang", "html", "429"])
def test_a_broken_endpoint_fails_the_run_fast_and_clearly(store, config, mode):
    add(store, _posts())
    endpoint = BrokenEndpoint(mode)
    try:
        _configure(config, endpoint.base_url)
        with pytest.raises(pipeline.StageFailed) as err:
            pipeline.refresh(config, store, only=["relevance"])
    finally:
        endpoint.close()
    assert err.value.stage == "relevance" and "failed 3 calls in a row" in str(err.value)
    # the breaker stopped the calls: at most the ones in flight when it opened came after it
    assert endpoint.calls <= config.llm.breaker_failures + config.llm.concurrency
    (run,) = store.query("SELECT status, failed_stage, error FROM runs")
    assert run["status"] == "failed" and run["failed_stage"] == "relevance"
    assert "no more calls this run" in run["error"]
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'") == 0  # nothing made up
    # once the endpoint is healthy again, the next run ends where a run that never saw the fault ends
    expected = _clean_relevance(config, _posts())
    with FakeOpenAI() as fake:
        config.llm.base_url = fake.base_url
        ctx = pipeline.refresh(config, store, only=["relevance"])
    assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [ctx.run_id]) == "ok"
    assert store.content_hash("relevance") == expected


def test_a_stage_deadline_leaves_the_rest_for_the_next_run(store, config):
    add(store, _posts(4))
    with FakeOpenAI(slow_s=0.3) as fake:
        config.llm.base_url = fake.base_url
        config.llm.relevance_batch_size = 1
        config.llm.concurrency = 1
        config.llm.stage_deadline_s = 0.5
        fake.fault("relevance", "slow", "slow", "slow", "slow")
        ctx = pipeline.refresh(config, store, only=["relevance"])
        (run,) = store.query("SELECT status, problems FROM runs")
        assert run["status"] == "degraded" and "deadline" in json.loads(run["problems"])["relevance"][0]
        scored = store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'")
        assert 1 <= scored < 4 and ctx.stats["relevance"]["relevance.not_asked"] == 4 - scored
        # the next run (no deadline trouble) asks only what is left, and ends ok
        before = fake.count("relevance")
        config.llm.stage_deadline_s = 3600
        pipeline.refresh(config, store, only=["relevance"])
        assert fake.count("relevance") - before == 4 - scored
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'") == 4
    assert store.scalar("SELECT status FROM runs ORDER BY started_at DESC LIMIT 1") == "ok"


def test_some_failed_items_make_a_degraded_run_with_a_summary(store, config, capsys):
    from echo.progress import status_line

    from fake_openai import default_relevance

    def garbles_post_0(req):  # one post always gets an answer that is not JSON, even when asked again
        return "{ not json" if req.posts[0]["id"] == "0" else default_relevance(req)

    add(store, _posts(3))
    with FakeOpenAI(responders={"relevance": garbles_post_0}) as fake:
        config.llm.base_url = fake.base_url
        config.llm.relevance_batch_size = 1
        ctx = pipeline.refresh(config, store, only=["relevance"])
    run = store.query("SELECT * FROM runs WHERE run_id = ?", [ctx.run_id])[0]
    assert run["status"] == "degraded"
    assert store.scalar("SELECT count(*) FROM llm_failures") == 1
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm'") == 2
    line = status_line(run)
    assert line.startswith(f"run {ctx.run_id}: degraded (relevance: relevance: 1 item(s) got no valid answer")
    expected = _clean_relevance(config, _posts(3))
    with FakeOpenAI() as fake:  # the garbled item is asked again, and the tables end as a clean run's
        config.llm.base_url = fake.base_url
        pipeline.refresh(config, store, only=["relevance"])
    assert store.content_hash("relevance") == expected


def test_an_image_that_was_not_stored_never_reaches_the_model_as_a_url(store, config, tmp_path):
    """SSRF: a model server that fetches image URLs must never be handed one. Only stored bytes, as data URLs."""
    from echo.records import Media

    media = tmp_path / "media"
    config.paths.media_dir = str(media)
    u_ok, m_ok = image(media, "ok", (10, 200, 10))
    u_bad = "http://169.254.169.254/latest/meta-data/iam.png"
    blocked = Media(url=u_bad, status="failed", error="blocked_address: 169.254.169.254 is a cloud metadata address")
    add(store, [post("1", "GPT-4o image edit. Prompt: turn this photo into a watercolor")], [m_ok, blocked],
        [("1", u_bad, 0, "my photo"), ("1", u_ok, 1, None)])
    with FakeOpenAI() as fake:
        config.llm.base_url = fake.base_url
        pipeline.refresh(config, store, only=["relevance", "extract"])
        bodies = [r.body for r in fake.requests]
    parts = [p for b in bodies for m in b["messages"] if isinstance(m["content"], list) for p in m["content"]]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert urls and all(u.startswith("data:image/jpeg;base64,") for u in urls)
    assert "169.254.169.254" not in json.dumps(bodies)
    assert any("this image is not available: it was not downloaded" in p.get("text", "") for p in parts)


def test_the_rate_limiter_never_lets_more_than_rpm_requests_start_in_any_window():
    clock = {"t": 0.0}

    async def sleep(s: float) -> None:
        clock["t"] += s

    limiter = RateLimiter(5, 10_000, window_s=60.0, clock=lambda: clock["t"], sleep=sleep)

    async def burst() -> None:
        for _ in range(23):
            await limiter.acquire(100)
            clock["t"] += 1.0  # each request takes a second to send

    asyncio.run(burst())
    g = limiter.granted
    assert len(g) == 23
    assert max(sum(1 for t in g if start <= t < start + 60.0) for start in g) == 5
    assert g[5] - g[0] >= 60.0 and limiter.waited_s > 0


def test_the_rate_limiter_counts_tokens_too():
    clock = {"t": 0.0}

    async def sleep(s: float) -> None:
        clock["t"] += s

    limiter = RateLimiter(100, 1000, window_s=60.0, clock=lambda: clock["t"], sleep=sleep)

    async def go() -> None:
        for _ in range(5):
            await limiter.acquire(400)

    asyncio.run(go())
    # two requests of 400 tokens fit a 1,000-token minute; the third waits for the first to leave the window
    # (and the second of slack a minute)
    assert limiter.granted == [0.0, 0.0, 61.0, 61.0, 122.0]


def test_the_server_never_sees_more_than_rpm_requests_in_a_window(config):
    """Through the real client: requests granted while every connection is busy must not reach the server later,
    bunched into the next window (the limiter counts a request when it is sent)."""
    from echo.llm.backend import PostView, RelevanceItem
    from echo.llm.openai_backend import OpenAIBackend

    with FakeOpenAI(latency_s=0.2) as fake:
        config.llm.base_url = fake.base_url
        config.llm.concurrency = 2
        config.llm.relevance_batch_size = 1
        backend = OpenAIBackend(config)
        backend.limiter = RateLimiter(8, 10**9, window_s=1.0)  # 8 per second: the 60 s rule, scaled down
        try:
            out = backend.relevance([RelevanceItem(key=f"x:{i}", platform="x", post=PostView(
                post_id=str(i), author="a", text=f"GPT-4o image gen made corgi number {i}")) for i in range(24)])
        finally:
            backend.close()
        assert len(out.results) == 24 and fake.count() == 24
        # the limiter's own record, and what the server saw (less a few ms of transport jitter)
        g = backend.limiter.granted
        assert max(sum(1 for t in g if s <= t < s + 1.0) for s in g) == 8
        assert fake.max_in_window(0.95) <= 8
