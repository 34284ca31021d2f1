"""The shared HTTP client over a real local server: retries, rate limits, block pages."""

from __future__ import annotations

import email.utils

import httpx
import pytest
from fixtures_http import FakeClock, FixtureServer, Reply, block_page

from echo.sources.http import (
    RATE_LIMITS,
    USER_AGENT,
    HttpClient,
    HttpStatusError,
    MalformedResponse,
    RateLimited,
    SourceAuthError,
    SourceBlocked,
    next_link,
    parse_link_header,
    parse_retry_after,
)


@pytest.fixture
def srv():
    with FixtureServer() as s:
        yield s


def client(srv, platform="x", clock=None, **kw) -> HttpClient:
    clock = clock or FakeClock()
    kw.setdefault("timeout_s", 2.0)
    return HttpClient(platform, base_url=srv.url, sleep=clock.sleep, clock=clock.time, rng=lambda: 0.5, **kw)


def test_json_get_sends_honest_user_agent(srv):
    srv.route("/a", Reply(200, {"ok": 1}))
    with client(srv) as http:
        assert http.get_json("/a", params={"q": "cat", "cursor": None}) == {"ok": 1}
    (req,) = srv.requests
    assert req.headers["user-agent"] == USER_AGENT and USER_AGENT.startswith("echo-bench/")
    assert req.query == {"q": "cat"}  # None parameters are dropped


def test_429_with_retry_after_seconds_then_success(srv):
    clock = FakeClock()
    srv.route("/a", Reply(429, {"title": "Too Many Requests"}, {"retry-after": "7"}), Reply(200, {"ok": 2}))
    with client(srv, clock=clock) as http:
        assert http.get_json("/a") == {"ok": 2}
        assert http.stats["http_429"] == 1 and http.stats["retries"] == 1
    assert clock.sleeps == [7.0]


def test_retry_after_http_date_and_epoch_reset_on_429(srv):
    clock = FakeClock()
    date = email.utils.formatdate(clock.now + 30, usegmt=True)
    srv.route("/date", Reply(503, "busy", {"retry-after": date}), Reply(200, {"ok": 1}))
    # X: no Retry-After, reset as epoch seconds
    srv.route("/epoch", Reply(429, {}, {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(clock.now) + 45)}),
              Reply(200, {"ok": 1}))
    with client(srv, clock=clock) as http:
        http.get_json("/date")
        http.get_json("/epoch")
    assert clock.sleeps[0] == pytest.approx(30, abs=1)
    assert clock.sleeps[1] == pytest.approx(15, abs=1)  # 45s reset, 30s already slept


def test_5xx_and_timeouts_back_off_exponentially_then_succeed(srv):
    clock = FakeClock()
    srv.route("/a", Reply(500, "oops"), Reply(502, "bad gateway"), Reply(200, {"ok": 3}))
    srv.route("/slow", Reply(200, {"late": 1}, delay=1.0), Reply(200, {"ok": 4}))
    with client(srv, clock=clock, timeout_s=0.3, backoff_base_s=1.0) as http:
        assert http.get_json("/a") == {"ok": 3}
        assert http.get_json("/slow") == {"ok": 4}
        assert http.stats["transport_errors"] == 1
    # equal jitter with rng=0.5: 0.75 * cap; caps 1, 2 then 1 for the timeout
    assert clock.sleeps == [0.75, 1.5, 0.75]


def test_retries_run_out_with_a_clear_error(srv):
    srv.route("/a", Reply(503, "down"))
    with client(srv, max_retries=2) as http, pytest.raises(HttpStatusError, match="HTTP 503.*after 3 attempts"):
        http.get_json("/a")
    assert len(srv.calls("/a")) == 3


def test_connection_refused_is_retried_then_reported():
    clock = FakeClock()
    with HttpClient("x", base_url="http://127.0.0.1:9", max_retries=1, sleep=clock.sleep, clock=clock.time) as http:
        with pytest.raises(HttpStatusError, match="connection error"):
            http.get_json("/a")
    assert len(clock.sleeps) == 1


def test_remaining_zero_waits_for_reset_before_next_request(srv):
    clock = FakeClock()
    reset = {"x": str(int(clock.now) + 60), "bluesky": str(int(clock.now) + 60), "reddit": "60",
             "mastodon": "2023-11-14T22:14:20Z"}  # FakeClock start + 60s
    for platform, policy in RATE_LIMITS.items():
        clock.sleeps.clear()
        srv.route(f"/{platform}", Reply(200, {"p": 1}, {policy.remaining_header: "0", policy.reset_header: reset[platform]}))
        srv.route(f"/{platform}/next", Reply(200, {"p": 2}))
        with client(srv, platform=platform, clock=FakeClock(clock.now)) as http:
            http.get_json(f"/{platform}")
            assert http.sleep.__self__.sleeps == []  # no wait after the last allowed call
            http.get_json(f"/{platform}/next")
            assert http.sleep.__self__.sleeps == [pytest.approx(60, abs=1)], platform
            assert http.stats["rate_limit_waits"] == 1


def test_wait_longer_than_max_raises_rate_limited(srv):
    srv.route("/a", Reply(429, {}, {"retry-after": "3600"}))
    with client(srv, max_wait_s=60) as http, pytest.raises(RateLimited, match="max_wait_s=60"):
        http.get_json("/a")


def test_block_pages_and_malformed_json(srv):
    srv.route("/html403", block_page(403))
    srv.route("/html200", block_page(200))
    srv.route("/json403", Reply(403, {"title": "Client Forbidden", "reason": "client-not-enrolled"}))
    srv.route("/broken", Reply(200, b'{"data": [1, 2', {"content-type": "application/json"}))
    srv.route("/gone", Reply(404, {"error": "NotFound"}))
    with client(srv) as http:
        with pytest.raises(SourceBlocked, match="blocked: HTTP 403 with an HTML page.*Access denied"):
            http.get_json("/html403")
        with pytest.raises(SourceBlocked, match="HTML page where JSON was expected"):
            http.get_json("/html200")
        with pytest.raises(SourceAuthError, match="client-not-enrolled"):
            http.get_json("/json403")
        with pytest.raises(MalformedResponse, match="not valid JSON"):
            http.get_json("/broken")
        with pytest.raises(HttpStatusError, match="HTTP 404"):
            http.get_json("/gone")
    assert len(srv.calls("/html403")) == 1  # a block is not retried


def test_link_header_and_retry_after_parsing():
    link = ('<https://m.social/api/v1/timelines/tag/ai?max_id=109>; rel="next", '
            '<https://m.social/api/v1/timelines/tag/ai?min_id=200>; rel="prev"')
    assert parse_link_header(link) == {"next": "https://m.social/api/v1/timelines/tag/ai?max_id=109",
                                       "prev": "https://m.social/api/v1/timelines/tag/ai?min_id=200"}
    assert parse_link_header(None) == {}
    assert next_link(httpx.Response(200, headers={"link": link})).endswith("max_id=109")
    assert parse_retry_after("12", 0) == 12
    assert parse_retry_after("garbage", 0) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10


def test_concurrency_is_bounded(srv):
    import threading

    srv.route("/slow", Reply(200, {"ok": 1}, delay=0.2))
    with client(srv, concurrency=2) as http:
        threads = [threading.Thread(target=http.get_json, args=("/slow",)) for _ in range(4)]
        for t in threads:
            t.start()
        peak = 0
        for _ in range(20):
            peak = max(peak, 2 - http._semaphore._value)
            threading.Event().wait(0.02)
        for t in threads:
            t.join()
    assert peak == 2 and len(srv.calls("/slow")) == 4
