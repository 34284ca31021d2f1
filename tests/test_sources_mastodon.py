"""Mastodon: parsers over real recorded responses (Mastodon.py cassettes) and the connector over 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from fixtures_http import FakeClock, FixtureServer, Reply, block_page, fixture_server  # noqa: F401

from echo.config import SourceConfig
from echo.records import Post
from echo.sources import mastodon
from echo.sources.base import Parsed, ParseContext
from echo.sources.http import HttpClient, MalformedResponse, SourceAuthError, SourceBlocked, parse_link_header

CTX = ParseContext(source="test", query="#gpt4o", run_id="r1")


# --- real recorded responses ----------------------------------------------------------------------


def cassette(path) -> list[dict]:
    return yaml.safe_load(path.read_text())["interactions"]


def parse_cassette(path) -> Parsed:
    """Every JSON body of the cassette through parse_payload, merged to one row per status and image."""
    merged = Parsed()
    for it in cassette(path):
        merged.extend(mastodon.parse_payload(json.loads(it["response"]["body"]["string"]), CTX))
    merged.posts = list({p.post_id: p for p in merged.posts}.values())
    merged.post_media = list({(m.post_id, m.url): m for m in merged.post_media}.values())
    return merged


# Counted from the files with a separate walk over every Status object (not with this parser):
# posts, image attachments, replies (in_reply_to_id), quotes.
MASTODON_COUNTS = {
    "test_hashtag_tl.yaml": (1, 0, 0, 0),
    "test_media_post_multiple.yaml": (1, 2, 0, 0),
    "test_public_tl.yaml": (8, 0, 0, 0),
    "test_search.yaml": (0, 0, 0, 0),
    "test_status_card.yaml": (1, 0, 0, 0),
    "test_status_context.yaml": (1, 0, 0, 0),
    "test_status_reply.yaml": (2, 0, 1, 0),
    "test_timeline_disabled.yaml": (20, 0, 0, 0),
    "test_trending_tags.yaml": (0, 0, 0, 0),
}
CASSETTES = "mastodon/mastodonpy_test_cassettes"


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(MASTODON_COUNTS))
def test_realdata_counts(realdata, name):
    parsed = parse_cassette(realdata / CASSETTES / name)
    posts, images, replies, quotes = MASTODON_COUNTS[name]
    assert len(parsed.posts) == posts
    assert len(parsed.post_media) == images
    assert sum(1 for p in parsed.posts if p.parent_id) == replies
    assert sum(1 for p in parsed.posts if p.quoted_id) == quotes
    assert parsed.errors == []  # instance, account, media upload and trend bodies are known non-posts


@pytest.mark.realdata
def test_realdata_media_alt_text_and_fields(realdata):
    parsed = parse_cassette(realdata / CASSETTES / "test_media_post_multiple.yaml")
    (post,) = parsed.posts
    assert post.post_id == "117020576664345360" and post.text == "LOL check this out"
    assert post.url == "http://localhost:3000/@mastodonpy_test/117020576664345360"
    assert post.author == "mastodonpy_test" and post.lang == "en" and post.root_id == post.post_id
    assert post.created_at == dt.datetime(2026, 8, 1, 13, 51, 35, 294000, tzinfo=dt.UTC)
    media = sorted(parsed.post_media, key=lambda m: m.position)
    assert [m.alt_text for m in media] == ["John Lennon doing a funny walk", "hololives #1 detective, watson ameliachan"]
    assert all(m.url.endswith(".jpg") and "/original/" in m.url for m in media)


@pytest.mark.realdata
def test_realdata_reply_and_mention_text(realdata):
    parsed = parse_cassette(realdata / CASSETTES / "test_status_reply.yaml")
    reply = next(p for p in parsed.posts if p.parent_id)
    assert reply.parent_id == "117020583245459824" and reply.text == "@mastodonpy_test_2 same!"


@pytest.mark.realdata
def test_realdata_hashtag_page_link_header(realdata):
    it = cassette(realdata / CASSETTES / "test_hashtag_tl.yaml")[2]
    links = parse_link_header(it["response"]["headers"]["link"][0])
    assert mastodon._query_param(links["next"], "max_id") == "117020593741189701"
    parsed = mastodon.parse_payload(json.loads(it["response"]["body"]["string"]), CTX)
    assert parsed.newest == "117020593741189701" and "#hoot" in parsed.posts[0].text


# --- parsers on hand-made shapes --------------------------------------------------------------------


def status(sid: str, reply_to: str | None = None, content: str = "<p>hi</p>", **extra) -> dict:
    base = {"id": sid, "created_at": "2025-03-27T10:00:00.000Z", "in_reply_to_id": reply_to, "content": content,
            "url": f"https://mastodon.social/@a/{sid}", "uri": f"https://mastodon.social/users/a/statuses/{sid}",
            "language": "en", "replies_count": 0, "reblogs_count": 1, "favourites_count": 2, "spoiler_text": "",
            "reblog": None, "account": {"id": "9", "username": "a", "acct": "a"}, "media_attachments": []}
    return {**base, **extra}


def test_html_to_text_keeps_breaks_and_link_text_and_drops_invisible_spans():
    html = ('<p>Made with <a href="https://openai.com/index/4o-image-generation/" rel="nofollow">'
            '<span class="invisible">https://</span><span class="ellipsis">openai.com/index/4o-imag</span>'
            '<span class="invisible">e-generation/</span></a><br />prompt: a cat</p>'
            '<p><a href="https://m.s/tags/gpt4o" class="mention hashtag">#<span>gpt4o</span></a> &amp; more</p>')
    assert mastodon.html_to_text(html) == "Made with openai.com/index/4o-imag\nprompt: a cat\n\n#gpt4o & more"


def test_reblogs_unwrap_quotes_and_video_is_counted_not_stored():
    inner = status("200", media_attachments=[
        {"id": "m1", "type": "image", "url": "https://files/1.png", "description": "a red fox"},
        {"id": "m2", "type": "gifv", "url": "https://files/2.mp4"},
        {"id": "m3", "type": "image", "url": None, "remote_url": "https://remote/3.jpg", "description": ""}])
    wrapper = status("300", reblog=inner, content="")
    quoting = status("400", quote={"state": "accepted", "quoted_status": status("150")})
    shallow = status("401", quote={"state": "accepted", "quoted_status_id": "151"})
    fork = status("402", quote=status("152"))
    parsed = mastodon.parse_payload([wrapper, quoting, shallow, fork], CTX)
    assert [p.post_id for p in parsed.posts] == ["200", "400", "150", "401", "402", "152"]
    assert {p.post_id: p.quoted_id for p in parsed.posts if p.quoted_id} == {"400": "150", "401": "151", "402": "152"}
    assert [(m.url, m.alt_text, m.position) for m in parsed.post_media] == [
        ("https://files/1.png", "a red fox", 0), ("https://remote/3.jpg", None, 1)]
    assert parsed.skipped["media_gifv"] == 1 and parsed.newest == "402"


def test_context_rebuilt_into_a_tree():
    context = {"ancestors": [status("10"), status("11", "10")],
               "descendants": [status("13", "12"), status("14", "13"), status("15", "12")]}
    parsed = mastodon.parse_context(context, CTX, focus=status("12", "11"))
    assert {p.post_id: p.parent_id for p in parsed.posts} == {
        "10": None, "11": "10", "12": "11", "13": "12", "14": "13", "15": "12"}
    assert {p.root_id for p in parsed.posts} == {"10"}
    # a context file alone (data/samples/mastodon/<id>.context.json): the focus is the parent named from outside
    alone = mastodon.parse_payload({"ancestors": [], "descendants": [status("21", "20"), status("22", "21")]}, CTX)
    assert {p.root_id for p in alone.posts} == {"20"} and len(alone.posts) == 2


def test_one_bad_status_is_an_error_not_a_crash():
    bad = {"id": "5", "content": "<p>no account</p>"}
    parsed = mastodon.parse_payload([status("1"), bad, status("2", created_at="not a time")], CTX)
    assert [p.post_id for p in parsed.posts] == ["1"]
    assert [e.kind for e in parsed.errors] == ["bad_item", "bad_item"]
    assert json.loads(parsed.errors[0].raw) == bad
    assert mastodon.parse_payload({"what": 1}, CTX).errors[0].kind == "malformed_page"


# --- the connector over HTTP ------------------------------------------------------------------------


def make_source(srv: FixtureServer, clock: FakeClock, env: dict | None = None, **cfg) -> mastodon.Source:
    config = SourceConfig(name="mastodon", kind="mastodon", base_url=srv.url, page_size=2, max_pages=5, **cfg)
    client = HttpClient("mastodon", base_url=srv.url, sleep=clock.sleep, clock=clock.time, rng=lambda: 0.0)
    return mastodon.Source(config, client, env=env if env is not None else {})


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


TAG = "/api/v1/timelines/tag/gpt4o"


def test_hashtag_timeline_link_paging_and_iso_rate_limit(fixture_server):
    clock = FakeClock()
    srv = fixture_server
    next_link = f'<{srv.url}{TAG}?max_id=98>; rel="next", <{srv.url}{TAG}?min_id=100>; rel="prev"'
    srv.route(TAG,
              Reply(200, [status("100"), status("99", "98")], {
                  "link": next_link, "x-ratelimit-remaining": "0", "x-ratelimit-reset": iso(clock.now + 30)}),
              Reply(429, {"error": "Too many requests"}, {"retry-after": "2"}),
              Reply(200, [status("98")], {"link": f'<{srv.url}{TAG}?max_id=97>; rel="next"'}),
              Reply(200, []))
    pages = list(make_source(srv, clock).search("#gpt4o", None, "90"))
    assert [[p.post_id for p in page.posts] for page in pages] == [["100", "99"], ["98"], []]
    assert [page.next_cursor for page in pages] == ["98|90", "97|90", None]
    assert pages[0].newest == "100"
    assert clock.sleeps == [30.0, 2.0]  # the ISO reset time, then Retry-After
    calls = srv.calls(TAG)
    assert calls[0].query == {"limit": "2", "since_id": "90"}
    assert calls[-1].query == {"limit": "2", "since_id": "90", "max_id": "97"}


def test_resumed_crawl_uses_the_cursor_floor_not_the_newer_watermark(fixture_server):
    fixture_server.route(TAG, Reply(200, [status("50")]))
    list(make_source(fixture_server, FakeClock()).search("#gpt4o", "60|40", "100"))
    assert fixture_server.calls(TAG)[0].query == {"limit": "2", "max_id": "60", "since_id": "40"}


def test_full_text_search_needs_a_token_and_pages_by_max_id(fixture_server):
    with pytest.raises(SourceAuthError, match="ECHO_MASTODON_TOKEN"):
        list(make_source(fixture_server, FakeClock()).search("4o image", None, None))
    fixture_server.route("/api/v2/search",
                         Reply(200, {"accounts": [], "hashtags": [], "statuses": [status("30"), status("29")]}),
                         Reply(200, {"accounts": [], "hashtags": [], "statuses": [status("28")]}))
    src = make_source(fixture_server, FakeClock(), env={"ECHO_MASTODON_TOKEN": "tok"})
    pages = list(src.search("4o image", None, None))
    assert [[p.post_id for p in page.posts] for page in pages] == [["30", "29"], ["28"]]
    calls = fixture_server.calls("/api/v2/search")
    assert calls[0].headers["authorization"] == "Bearer tok"
    assert calls[0].query == {"q": "4o image", "type": "statuses", "limit": "2", "resolve": "false"}
    assert calls[1].query["max_id"] == "29"
    # an incremental run stops paging at the watermark
    fixture_server.route("/api/v2/search", Reply(200, {"statuses": [status("31"), status("30")], "accounts": []}))
    again = list(src.search("4o image", None, "30"))
    assert len(again) == 1 and again[0].next_cursor is None and again[0].newest == "31"


def test_block_page_keeps_pages_so_far_and_malformed_json(fixture_server):
    srv = fixture_server
    srv.route(TAG, Reply(502), Reply(200, [status("7")], {"link": f'<{srv.url}{TAG}?max_id=7>; rel="next"'}),
              block_page())
    clock = FakeClock()
    got = []
    with pytest.raises(SourceBlocked, match="blocked"):
        for page in make_source(srv, clock).search("#gpt4o", None, None):
            got.append(page)
    assert [p.post_id for page in got for p in page.posts] == ["7"] and got[0].next_cursor == "7|"
    assert clock.sleeps == [0.5]
    srv.route(TAG, Reply(200, "[{", {"content-type": "application/json"}))
    with pytest.raises(MalformedResponse):
        list(make_source(srv, FakeClock()).search("#gpt4o", None, None))


def test_fetch_tree_bounds_depth_and_breadth_and_fetches_the_quoted_status(fixture_server):
    fixture_server.route("/api/v1/statuses/12/context", Reply(200, {
        "ancestors": [status("10"), status("11", "10")],
        "descendants": [status("13", "12"), status("14", "13"), status("15", "14"), status("16", "12"),
                        status("17", "12")]}))
    fixture_server.route("/api/v1/statuses/5", Reply(200, status("5")))
    src = make_source(fixture_server, FakeClock(), tree_depth=2, tree_breadth=3)
    tree = src.fetch_tree(Post(platform="mastodon", post_id="12", parent_id="11", quoted_id="5"))
    # 15 is three levels below the focus (depth 2 allowed); 17 exceeds the breadth of 3 descendants
    assert [p.post_id for p in tree.posts] == ["10", "11", "13", "14", "16", "5"]
    assert {p.root_id for p in tree.posts if p.post_id != "5"} == {"10"}
    assert tree.posts[-1].root_id == "5"
