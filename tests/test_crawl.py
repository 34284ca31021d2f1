"""The crawl stage over 127.0.0.1 fixture servers: 429s, 5xx, a block page mid-sweep, resume, idempotence."""

from __future__ import annotations

import json

import pytest
from fixtures_http import FakeClock, FixtureServer, Reply, block_page

from echo import pipeline
from echo.stages import crawl as crawl_stage
from echo.config import SourceConfig
from echo.store import Store

TABLES = ("posts", "post_media", "crawl_trees", "crawl_cursors")


def tweet(i: int, conversation: int | None = None, reply_to: int | None = None, likes: int = 1) -> dict:
    t = {"id": str(i), "text": f"4o image number {i}", "author_id": "1", "conversation_id": str(conversation or i),
         "created_at": f"2025-03-27T10:{i % 60:02d}:00.000Z", "public_metrics": {"like_count": likes, "retweet_count": 0,
                                                                                 "reply_count": 0, "quote_count": 0}}
    if reply_to:
        t["referenced_tweets"] = [{"type": "replied_to", "id": str(reply_to)}]
    if i % 2 == 0:
        t["attachments"] = {"media_keys": [f"3_{i}"]}
    return t


def page(ids, next_token=None, likes=1):
    body = {"data": [tweet(i, likes=likes) for i in ids],
            "includes": {"users": [{"id": "1", "username": "alice"}],
                         "media": [{"media_key": f"3_{i}", "type": "photo", "url": f"https://pbs.twimg.com/{i}.jpg"}
                                   for i in ids if i % 2 == 0]},
            "meta": {"newest_id": str(max(ids)), "result_count": len(ids)}}
    if next_token:
        body["meta"]["next_token"] = next_token
    return body


class XServer:
    """X search: pages 1-3 newest first; scripted 429, 5xx and a block page on page 3 while `blocked`."""

    def __init__(self, srv: FixtureServer):
        self.blocked = True
        self.fresh = page([130, 129], "p2")
        self.hits = {"p2": 0, "p3": 0}
        self.first = 0
        srv.route("/2/tweets/search/recent", handler=self.search)
        srv.route("/2/tweets", handler=lambda req: Reply(200, {"data": [tweet(int(i)) for i in req.query["ids"].split(",")]}))

    def search(self, req):
        q, token = req.query["query"], req.query.get("next_token")
        if q.startswith("conversation_id:"):
            root = int(q.split(":")[1])
            return Reply(200, {"data": [tweet(root * 10 + 1, conversation=root, reply_to=root)], "meta": {}})
        if token is None:
            self.first += 1
            if self.first == 1:
                return Reply(429, {"title": "Too Many Requests"}, {"retry-after": "3"})
            return Reply(200, self.fresh)
        if token == "p2":
            self.hits["p2"] += 1
            return Reply(503, "overloaded") if self.hits["p2"] == 1 else Reply(200, page([128, 127], "p3"))
        if token == "p3":
            return block_page(403) if self.blocked else Reply(200, page([126]))
        return Reply(400, {"title": "bad token"})


def bsky_view(rkey: str) -> dict:
    return {"uri": f"at://did:plc:b/app.bsky.feed.post/{rkey}", "cid": "c",
            "author": {"did": "did:plc:b", "handle": "bob.bsky.social"},
            "record": {"$type": "app.bsky.feed.post", "text": f"chatgpt image {rkey}", "createdAt": "2025-03-28T09:00:00Z"},
            "likeCount": 2}


@pytest.fixture
def world(config, tmp_path, monkeypatch):
    clock = FakeClock()
    with FixtureServer() as x_srv, FixtureServer() as b_srv:
        xs = XServer(x_srv)
        b_srv.route("/xrpc/com.atproto.server.createSession", Reply(200, {"accessJwt": "a", "refreshJwt": "r"}))
        b_srv.route("/xrpc/app.bsky.feed.searchPosts", Reply(200, {"posts": [bsky_view("p1")]}))
        b_srv.route("/xrpc/app.bsky.feed.getPostThread", Reply(200, {"thread": {"post": bsky_view("p1"), "replies": []}}))
        b_srv.route("/xrpc/app.bsky.feed.getQuotes", Reply(200, {"posts": []}))
        config.sources = [
            SourceConfig(name="x", kind="x", base_url=x_srv.url, queries=["4o image"], max_pages=5, max_retries=3),
            SourceConfig(name="bsky", kind="bluesky", base_url=b_srv.url, queries=["chatgpt image"]),
            SourceConfig(name="reddit", kind="reddit", queries=["4o"]),  # no credentials: skipped
            SourceConfig(name="off", kind="x", enabled=False),
        ]
        monkeypatch.setenv("ECHO_X_BEARER_TOKEN", "t")
        monkeypatch.setenv("ECHO_BLUESKY_HANDLE", "bob.bsky.social")
        monkeypatch.setenv("ECHO_BLUESKY_APP_PASSWORD", "pw")
        monkeypatch.delenv("ECHO_REDDIT_CLIENT_ID", raising=False)
        with Store(tmp_path / "crawl.duckdb") as store:
            yield config, store, xs, x_srv, clock


def crawl(config, store, clock):
    ctx = pipeline.start_run(config, store, source_http={"sleep": clock.sleep, "clock": clock.time})
    stats = pipeline.run_stage(ctx, crawl_stage.run)
    pipeline.finish_run(ctx)
    return ctx, stats


def counts(store):
    return {t: store.count(t) for t in TABLES}


def test_blocked_mid_sweep_keeps_pages_and_resumes_from_cursor(world):
    config, store, xs, x_srv, clock = world
    ctx1, s1 = crawl(config, store, clock)
    # 429 (Retry-After 3) and 503 were retried; the block page on page 3 stopped only the X source
    assert s1["http_429"] == 1 and s1["http_503"] == 1 and 3 in clock.sleeps
    assert s1["blocked_sources"] == 1 and s1["skipped_sources"] == 1 and s1["disabled_sources"] == 1
    x_ids = {r["post_id"] for r in store.query("SELECT post_id FROM posts WHERE platform = 'x'")}
    assert x_ids == {"130", "129", "128", "127"}  # both pages before the block are kept
    assert store.count("post_media") == 2  # the photos of 130 and 128
    cur = store.query("SELECT cursor, watermark, sweep_newest FROM crawl_cursors WHERE source = 'x'")[0]
    assert cur == {"cursor": "p3", "watermark": None, "sweep_newest": "130"}
    (err,) = store.query("SELECT kind, message FROM crawl_errors WHERE source = 'x'")
    assert err["kind"] == "blocked" and "HTML" in err["message"]
    assert store.scalar("SELECT count(*) FROM posts WHERE platform = 'bluesky'") == 1  # other sources went on
    assert any("reddit" in m and "ECHO_REDDIT_CLIENT_ID" in m for m in ctx1.resources.source_messages)

    xs.blocked = False
    ctx2, s2 = crawl(config, store, clock)
    assert s2["resumed_sweeps"] == 1 and s2["blocked_sources"] == 0
    resumed = x_srv.calls("/2/tweets/search/recent")
    p3 = [r for r in resumed if r.query.get("next_token") == "p3"][-1]
    assert "since_id" not in p3.query  # the first sweep has no watermark yet
    cur = store.query("SELECT cursor, watermark, sweep_newest FROM crawl_cursors WHERE source = 'x'")[0]
    assert cur == {"cursor": None, "watermark": "130", "sweep_newest": None}
    x_ids = {r["post_id"] for r in store.query("SELECT post_id FROM posts WHERE platform = 'x'")}
    # all five hits, and one reply per tree (conversation search) fetched now that the source is free
    assert x_ids == {"130", "129", "128", "127", "126", "1301", "1291", "1281", "1271", "1261"}
    assert store.count("crawl_trees") == 5 + 1
    first_run = {r["post_id"]: r for r in store.query("SELECT post_id, run_id, query FROM posts WHERE platform = 'x'")}
    assert first_run["130"]["run_id"] == ctx1.run_id and first_run["126"]["run_id"] == ctx2.run_id
    assert first_run["1301"]["query"] is None and first_run["130"]["query"] == "4o image"

    # a third run: the API returns the newest page again, with more likes
    xs.fresh = page([130], likes=50)
    before = counts(store)
    ctx3, s3 = crawl(config, store, clock)
    assert counts(store) == before
    assert s3["posts_new"] == 0 and s3["posts_seen_again"] >= 1 and s3["trees_fetched"] == 0
    assert x_srv.calls("/2/tweets/search/recent")[-1].query["since_id"] == "130"
    row = store.query("SELECT like_count, run_id, last_run_id, query FROM posts WHERE post_id = '130'")[0]
    assert row == {"like_count": 50, "run_id": ctx1.run_id, "last_run_id": ctx3.run_id, "query": "4o image"}
    stats = json.loads(store.scalar("SELECT stage_stats FROM runs WHERE run_id = ?", [ctx3.run_id]))
    assert stats["crawl"]["posts_new"] == 0


def test_crawl_twice_gives_the_same_row_counts(world):
    config, store, xs, x_srv, clock = world
    xs.blocked = False
    crawl(config, store, clock)
    first = counts(store)
    crawl(config, store, clock)
    assert counts(store) == first and first["posts"] == 10 + 1


def test_malformed_json_page_stops_the_source_with_a_clear_error(world):
    config, store, xs, x_srv, clock = world
    x_srv.route("/2/tweets/search/recent", Reply(200, b'{"data": [', {"content-type": "application/json"}))
    _, s = crawl(config, store, clock)
    assert s["failed_sources"] == 1
    (err,) = store.query("SELECT kind, message FROM crawl_errors WHERE source = 'x'")
    assert err["kind"] == "http_error" and "not valid JSON" in err["message"]
