"""Hacker News: parsers over the real recorded Algolia fixtures and the connector over 127.0.0.1."""

from __future__ import annotations

import json

import pytest
from fixtures_http import FakeClock, FixtureServer, Reply, block_page, fixture_server  # noqa: F401

from echo.config import SourceConfig
from echo.records import Post
from echo.sources import hackernews
from echo.sources.base import ParseContext
from echo.sources.http import HttpClient, MalformedResponse, SourceBlocked

CTX = ParseContext(source="test", query="4o", run_id="r1")
FIXTURES = "hackernews/node-hacker-news-api_fixtures.json"


# --- real recorded responses (Algolia, 2014 schema) ---------------------------------------------------


@pytest.mark.realdata
def test_realdata_file_counts(realdata):
    # Counted from the file by hand: 26 recorded replies hold 21 distinct items (search hits repeat across
    # endpoints), 8 of them comments with a parent, one story text linking a .png, no quotes.
    entries = json.loads((realdata / FIXTURES).read_text())
    parsed = hackernews.parse_payload(entries, CTX)
    assert len(parsed.posts) == 21
    assert [(m.post_id, m.url) for m in parsed.post_media] == [
        ("649663", "http://getcomicstrips.com/public/img_0067.png")]
    assert sum(1 for p in parsed.posts if p.parent_id) == 8
    assert sum(1 for p in parsed.posts if p.quoted_id) == 0
    assert parsed.errors == [] and parsed.skipped["not_a_post"] == 1  # /users/pg
    assert parsed.newest == "1403235595"


@pytest.mark.realdata
def test_realdata_item_tree_and_hits(realdata):
    entries = {e["url"]: e["reply"] for e in json.loads((realdata / FIXTURES).read_text())}
    tree = hackernews.parse_payload(entries["/api/v1/items/17"], CTX)
    assert [(p.post_id, p.parent_id, p.root_id) for p in tree.posts] == [
        ("17", "15", "1"), ("1079", "17", "1"), ("454426", "17", "1")]
    assert tree.posts[0].text == "Is there anywhere to eat on Sandhill Road?" and tree.posts[0].reply_count == 2
    hit = hackernews.parse_payload(entries["/api/v1/search_by_date?hitsPerPage=1&tags=(comment)%2Cauthor_pg"], CTX)
    (c,) = hit.posts
    assert (c.post_id, c.parent_id, c.root_id, c.author) == ("7494555", "7494175", "7493856", "pg")
    assert c.url == "https://news.ycombinator.com/item?id=7494555"
    # the 2014 index stored typed line breaks as literal backslash-n: they become real ones
    ask = hackernews.parse_payload(entries["/api/v1/search_by_date?hitsPerPage=1&tags=(ask_hn)&page=2&query=apple"],
                                   CTX)
    assert ask.posts[0].text.startswith("Ask HN: How can I get Swag from Startups?\n\nHello HN,\nI'm a college")
    assert "\\n" not in ask.posts[0].text and ask.next_cursor == "3"


# --- parsers on hand-made shapes --------------------------------------------------------------------


def item(iid: int, parent: int | None, story: int, children=(), **extra) -> dict:
    base = {"id": iid, "created_at_i": 1_743_000_000 + iid, "type": "comment" if parent else "story",
            "author": f"u{iid}", "text": f"<p>text {iid}</p>", "points": None, "parent_id": parent,
            "story_id": story, "children": children if isinstance(children, int) else list(children)}
    return {**base, **extra}


def test_item_tree_images_deleted_and_2014_child_counts():
    story = item(1, None, 1, title="4o makes images", url="https://example.com/cat.webp", text=None, points=10,
                 children=[
                     item(2, 1, 1, text='see <a href="https://i.imgur.com/x.png">https://i.imgur.com/x.png</a>',
                          children=[item(3, 2, 1, author=None, text=None)]),
                     item(4, 1, 1, children=5),  # 2014 schema: a count instead of the list
                     item(5, 1, 1, type="pollopt"),
                 ])
    parsed = hackernews.parse_item(story, CTX)
    assert [(p.post_id, p.parent_id, p.root_id) for p in parsed.posts] == [
        ("1", None, "1"), ("2", "1", "1"), ("3", "2", "1"), ("4", "1", "1")]
    assert parsed.posts[0].text == "4o makes images\n\nhttps://example.com/cat.webp"
    assert parsed.posts[2].text is None and parsed.posts[3].reply_count == 5
    assert [(m.post_id, m.url) for m in parsed.post_media] == [
        ("1", "https://example.com/cat.webp"), ("2", "https://i.imgur.com/x.png")]
    assert parsed.skipped["pollopt"] == 1
    bounded = hackernews.parse_item(story, CTX, max_depth=1, max_posts=3)
    assert [p.post_id for p in bounded.posts] == ["1", "2", "4"]


def test_one_bad_hit_is_an_error_not_a_crash():
    good = {"objectID": "9", "created_at_i": 1_743_000_000, "_tags": ["comment"], "comment_text": "hi",
            "parent_id": 8, "story_id": 7}
    bad = {"created_at_i": 1, "_tags": ["comment"]}
    parsed = hackernews.parse_payload({"hits": [good, bad], "page": 0, "nbPages": 1}, CTX)
    assert [p.post_id for p in parsed.posts] == ["9"] and parsed.next_cursor is None
    assert parsed.errors[0].kind == "bad_item" and json.loads(parsed.errors[0].raw) == bad
    assert hackernews.parse_payload([1, 2], CTX).errors[0].kind == "malformed_page"


# --- the connector over HTTP ------------------------------------------------------------------------


def hit(oid: int, ts: int) -> dict:
    return {"objectID": str(oid), "created_at_i": ts, "_tags": ["story"], "title": f"story {oid}", "points": 3,
            "num_comments": 1, "author": "a"}


def make_source(srv: FixtureServer, clock: FakeClock, **cfg) -> hackernews.Source:
    config = SourceConfig(name="hackernews", kind="hackernews", base_url=srv.url, page_size=2, max_pages=5, **cfg)
    return hackernews.Source(config, HttpClient("hackernews", base_url=srv.url, sleep=clock.sleep, clock=clock.time,
                                                rng=lambda: 0.0))


def test_search_pages_429_and_watermark(fixture_server):
    fixture_server.route(
        "/search_by_date",
        Reply(200, {"hits": [hit(30, 1300), hit(29, 1290)], "page": 0, "nbPages": 2}),
        Reply(429, {"message": "Too many requests"}, {"retry-after": "4"}),
        Reply(200, {"hits": [hit(28, 1280)], "page": 1, "nbPages": 2}))
    clock = FakeClock()
    pages = list(make_source(fixture_server, clock).search("gpt-4o image", None, "1200"))
    assert [[p.post_id for p in page.posts] for page in pages] == [["30", "29"], ["28"]]
    assert [page.next_cursor for page in pages] == ["1290|1200", None] and pages[0].newest == "1300"
    assert clock.sleeps == [4.0]
    calls = fixture_server.calls("/search_by_date")
    assert calls[0].query == {"query": "gpt-4o image", "tags": "(story,comment)",
                              "numericFilters": "created_at_i>1200", "hitsPerPage": "2", "page": "0"}
    assert calls[-1].query["page"] == "1"


def test_resume_uses_keyset_bounds_not_page_numbers(fixture_server):
    fixture_server.route("/search_by_date", Reply(200, {"hits": [], "page": 0, "nbPages": 0}))
    pages = list(make_source(fixture_server, FakeClock()).search("q", "1290|1200", "1300"))
    assert pages[0].posts == [] and pages[0].next_cursor is None
    assert fixture_server.calls("/search_by_date")[0].query["numericFilters"] == "created_at_i>1200,created_at_i<=1290"


def test_block_page_5xx_and_malformed_json(fixture_server):
    fixture_server.route("/search_by_date", Reply(500), Reply(200, {"hits": [hit(5, 100)], "page": 0, "nbPages": 3}),
                         block_page())
    clock = FakeClock()
    got = []
    with pytest.raises(SourceBlocked):
        for page in make_source(fixture_server, clock).search("q", None, None):
            got.append(page)
    assert [p.post_id for page in got for p in page.posts] == ["5"] and got[0].next_cursor == "100|"
    assert clock.sleeps == [0.5]
    fixture_server.route("/search_by_date", Reply(200, "{hits", {"content-type": "application/json"}))
    with pytest.raises(MalformedResponse):
        list(make_source(fixture_server, FakeClock()).search("q", None, None))


def test_fetch_tree_reads_the_story_item_within_bounds(fixture_server):
    story = item(1, None, 1, title="t", children=[item(2, 1, 1, children=[item(3, 2, 1)]), item(4, 1, 1)])
    fixture_server.route("/items/1", Reply(200, story))
    src = make_source(fixture_server, FakeClock(), tree_depth=1, tree_breadth=10)
    tree = src.fetch_tree(Post(platform="hackernews", post_id="2", parent_id="1", root_id="1"))
    assert [(p.post_id, p.parent_id) for p in tree.posts] == [("1", None), ("2", "1"), ("4", "1")]
