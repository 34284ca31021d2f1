"""Reddit: parsers over real recorded responses (praw cassettes) and the OAuth connector over a 127.0.0.1 server."""

from __future__ import annotations

import base64
import json

import pytest
from fixtures_http import FakeClock, FixtureServer, Reply, block_page, fixture_server  # noqa: F401

from echo.config import SourceConfig
from echo.records import Post
from echo.sources import reddit
from echo.sources.base import Parsed, ParseContext
from echo.sources.http import HttpClient, MalformedResponse, SourceAuthError, SourceBlocked

CTX = ParseContext(source="test", query="q", run_id="r1")
ENV = {"ECHO_REDDIT_CLIENT_ID": "cid", "ECHO_REDDIT_CLIENT_SECRET": "csecret"}


# --- real recorded responses ----------------------------------------------------------------------


def cassette_bodies(path) -> list:
    """JSON bodies of a Betamax cassette's successful responses (bodies are strings inside)."""
    out = []
    for it in json.loads(path.read_text())["interactions"]:
        if it["response"]["status"]["code"] != 200:
            continue
        try:
            out.append(json.loads(it["response"]["body"]["string"]))
        except ValueError:
            continue  # S3 upload replies are XML
    return out


def parse_cassette(path) -> Parsed:
    """Every body through parse_payload, merged: one row per post and per (post, image)."""
    merged = Parsed()
    for body in cassette_bodies(path):
        merged.extend(reddit.parse_payload(body, CTX))
    merged.posts = list({p.post_id: p for p in merged.posts}.values())
    merged.post_media = list({(m.post_id, m.url): m for m in merged.post_media}.values())
    return merged


# Counted from the files with a separate walk over every {"kind": "t1"|"t3"} thing (not with this parser):
# posts, still images, comments with a parent (reply links), crossposts (quote links).
REDDIT_COUNTS = {
    "TestComment.test_parent__chain.json": (33, 0, 32, 0),
    "TestComment.test_refresh__twice.json": (11, 0, 10, 0),
    "TestComment.test_refresh__with_reply_sort_and_limit.json": (5, 0, 4, 0),
    "TestCommentForest.test_replace__on_direct_comment.json": (147, 0, 146, 0),
    "TestFront.test_best.json": (100, 52, 0, 0),
    "TestMore.test_comments.json": (484, 0, 483, 0),
    "TestPollData.test_get_attrs.json": (493, 2, 492, 0),
    "TestRedditorListings.test_overview__top.json": (100, 1, 100, 0),
    "TestSubmission.test_comments.json": (3, 0, 2, 0),
    "TestSubmission.test_duplicates.json": (4, 0, 0, 0),
    "TestSubmission.test_edit__existing_inline_media.json": (3, 1, 2, 0),
    "TestSubmission.test_hide_multiple_in_batches.json": (100, 109, 0, 0),
    "TestSubreddit.test_search.json": (6, 0, 0, 0),
    "TestSubreddit.test_submit_gallery.json": (1, 3, 0, 0),
    "TestSubredditListings.test_comments.json": (100, 0, 100, 0),
    "TestSubredditListings.test_hot.json": (102, 0, 0, 0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(REDDIT_COUNTS))
def test_realdata_counts(realdata, name):
    parsed = parse_cassette(realdata / "reddit" / "praw_cassettes" / name)
    posts, images, replies, quotes = REDDIT_COUNTS[name]
    assert len(parsed.posts) == posts
    assert len(parsed.post_media) == images
    assert sum(1 for p in parsed.posts if p.parent_id) == replies
    assert sum(1 for p in parsed.posts if p.quoted_id) == quotes
    for p in parsed.posts:
        assert p.post_id.startswith(("t1_", "t3_")) and p.root_id and p.root_id.startswith("t3_")
        if p.post_id.startswith("t1_"):
            assert p.parent_id.startswith(("t1_", "t3_"))


@pytest.mark.realdata
def test_realdata_nine_deep_reply_chain(realdata):
    path = realdata / "reddit" / "praw_cassettes" / "TestComment.test_parent__chain.json"
    page = next(b for b in cassette_bodies(path) if isinstance(b, list))  # /comments/6otocc/_/dkk4qjd?context=100
    by_id = {p.post_id: p for p in reddit.parse_payload(page, CTX).posts}
    chain, cur = ["t1_dkk4qjd"], by_id["t1_dkk4qjd"]
    while cur.parent_id in by_id:
        cur = by_id[cur.parent_id]
        chain.append(cur.post_id)
    # the page holds nine nested comments (depth 0..8), the topmost replying to a comment outside the page
    assert len(chain) == 9 and chain[-1] == "t1_dkk4qc2" and cur.parent_id == "t1_dkk4q9z"
    assert all(p.root_id == "t3_6otocc" for p in by_id.values())
    # the five context pages of the file together link the comment all the way up to its submission
    merged = {p.post_id: p for p in parse_cassette(path).posts}
    cur, hops = merged["t1_dkk4qjd"], 0
    while cur.parent_id in merged:
        cur, hops = merged[cur.parent_id], hops + 1
    assert cur.post_id == "t3_6otocc" and hops == 32


@pytest.mark.realdata
def test_realdata_more_stubs_and_morechildren(realdata):
    bodies = cassette_bodies(realdata / "reddit" / "praw_cassettes" / "TestMore.test_comments.json")
    tree = next(b for b in bodies if isinstance(b, list))
    mores: list[reddit.MoreStub] = []
    parsed = reddit.parse_comments(tree, CTX, mores=mores)
    assert len(parsed.posts) == 477 and len(mores) == 12
    assert sum(len(m.children) for m in mores) == 24 and all(m.link_id == "t3_3hahrw" for m in mores)
    # the recorded morechildren call asked for nine ids of the top-level stub; all nine come back flat
    extra = reddit.parse_payload(next(b for b in bodies if isinstance(b, dict) and "json" in b), CTX)
    assert len(extra.posts) == 7 and {p.parent_id for p in extra.posts} <= {"t3_3hahrw"} | {
        p.post_id for p in parsed.posts + extra.posts}


@pytest.mark.realdata
def test_realdata_gallery_order_captions_and_animated_skipped(realdata):
    bodies = cassette_bodies(realdata / "reddit" / "praw_cassettes" / "TestSubreddit.test_submit_gallery.json")
    parsed = reddit.parse_payload(bodies[-1], CTX)
    (post,) = parsed.posts
    assert post.post_id == "t3_huw6vs" and post.text == "Test Title"
    media = sorted(parsed.post_media, key=lambda m: m.position)
    assert [m.url.split("?")[0].rsplit("/", 1)[1] for m in media] == [
        "pb7qsvi6i3c51.png", "14wmudl6i3c51.jpg", "wka18en6i3c51.png"]  # the gif between them is skipped
    assert [m.alt_text for m in media] == [None, "test.jpg", "test.png"]
    assert parsed.skipped["media_animatedimage"] == 1


# --- parsers on hand-made shapes --------------------------------------------------------------------


def t3(id36: str, created: float = 1_700_000_000, **extra) -> dict:
    data = {"id": id36, "name": f"t3_{id36}", "title": f"title {id36}", "selftext": "", "author": "op",
            "created_utc": created, "score": 5, "num_comments": 2, "permalink": f"/r/x/comments/{id36}/t/",
            "url": f"https://www.reddit.com/r/x/comments/{id36}/t/"}
    return {"kind": "t3", "data": {**data, **extra}}


def t1(id36: str, parent: str, link: str = "t3_L", replies=None, **extra) -> dict:
    data = {"id": id36, "name": f"t1_{id36}", "parent_id": parent, "link_id": link, "body": f"reply {id36}",
            "author": "u", "created_utc": 1_700_000_100, "score": 1, "replies": "" if replies is None else replies}
    return {"kind": "t1", "data": {**data, **extra}}


def listing(*children, after=None) -> dict:
    return {"kind": "Listing", "data": {"after": after, "children": list(children)}}


def more(parent: str, ids: list[str], depth: int = 1) -> dict:
    return {"kind": "more", "data": {"count": len(ids), "name": f"t1_{ids[0]}", "id": ids[0], "parent_id": parent,
                                     "depth": depth, "children": ids}}


def test_image_post_preview_and_escaped_urls():
    img = t3("a", url="https://i.redd.it/abc.png", post_hint="image")
    hosted = t3("b", url="https://imgur.com/xyz", post_hint="image",
                preview={"images": [{"source": {"url": "https://preview.redd.it/x.jpg?width=640&amp;s=1"}}]})
    link = t3("c", url="https://example.com/article", post_hint="link",
              preview={"images": [{"source": {"url": "https://external-preview.redd.it/thumb.jpg"}}]})
    parsed = reddit.parse_payload(listing(img, hosted, link, after="t3_c"), CTX)
    assert [(m.post_id, m.url) for m in parsed.post_media] == [
        ("t3_a", "https://i.redd.it/abc.png"), ("t3_b", "https://preview.redd.it/x.jpg?width=640&s=1")]
    assert parsed.next_cursor == "t3_c" and parsed.newest == "1700000000"
    post = parsed.posts[0]
    assert (post.like_count, post.reply_count, post.root_id, post.url) == (
        5, 2, "t3_a", "https://www.reddit.com/r/x/comments/a/t/")


def test_comment_tree_deleted_comments_and_more_stubs():
    deleted = t1("d", "t3_L", body="[deleted]", author="[deleted]")
    removed = t1("r", "t1_a", body="[removed]")
    top = t1("a", "t3_L", replies=listing(removed, more("t1_a", ["m1", "m2"], depth=1)))
    page = [listing(t3("L")), listing(top, deleted, more("t3_L", ["m3"], depth=0))]
    mores: list[reddit.MoreStub] = []
    parsed = reddit.parse_comments(page, CTX, mores=mores)
    by_id = {p.post_id: p for p in parsed.posts}
    assert set(by_id) == {"t3_L", "t1_a", "t1_d", "t1_r"}
    assert by_id["t1_d"].text is None and by_id["t1_d"].author is None
    assert by_id["t1_r"].text is None and by_id["t1_r"].parent_id == "t1_a"
    assert {p.root_id for p in parsed.posts} == {"t3_L"}
    assert [(m.parent_id, m.children, m.link_id) for m in mores] == [
        ("t1_a", ["m1", "m2"], "t3_L"), ("t3_L", ["m3"], "t3_L")]


def test_one_bad_item_is_an_error_not_a_crash():
    bad = {"kind": "t1", "data": {"body": "no id"}}
    parsed = reddit.parse_payload(listing(t3("ok"), bad, {"kind": "t3"}), CTX)
    assert [p.post_id for p in parsed.posts] == ["t3_ok"]
    assert [e.kind for e in parsed.errors] == ["bad_item", "bad_item"]
    assert json.loads(parsed.errors[0].raw) == bad
    unknown = reddit.parse_payload({"something": "else"}, CTX)
    assert unknown.posts == [] and unknown.errors[0].kind == "malformed_page"


# --- the connector over HTTP ------------------------------------------------------------------------


def make_source(srv: FixtureServer, clock: FakeClock, **cfg) -> reddit.Source:
    config = SourceConfig(name="reddit", kind="reddit", queries=["4o image"], page_size=2, max_pages=5,
                          options={"subreddits": ["ChatGPT", "OpenAI"], "token_url": srv.url + "/api/v1/access_token"},
                          **cfg)
    client = HttpClient("reddit", base_url=srv.url, sleep=clock.sleep, clock=clock.time, rng=lambda: 0.0)
    return reddit.Source(config, client, env=ENV)


TOKEN = Reply(200, {"access_token": "tok123", "token_type": "bearer", "expires_in": 3600, "scope": "*"})
SEARCH = "/r/ChatGPT+OpenAI/search"


def test_missing_credentials_are_a_clear_error():
    with pytest.raises(SourceAuthError, match="ECHO_REDDIT_CLIENT_ID"):
        reddit.Source(SourceConfig(name="reddit", kind="reddit"), HttpClient("reddit"), env={})


def test_oauth_search_paging_and_rate_limit_seconds(fixture_server):
    clock = FakeClock()
    fixture_server.route("/api/v1/access_token", TOKEN)
    fixture_server.route(
        SEARCH,
        Reply(200, listing(t3("a", 1_700_000_300), t3("b", 1_700_000_200), after="t3_b"),
              {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "7", "x-ratelimit-used": "100"}),
        Reply(429, {"message": "Too Many Requests"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"}),
        Reply(200, listing(t3("c", 1_700_000_100), after=None), {"x-ratelimit-remaining": "99"}),
    )
    src = make_source(fixture_server, clock)
    pages = list(src.search("4o image", None, None))
    assert [[p.post_id for p in page.posts] for page in pages] == [["t3_a", "t3_b"], ["t3_c"]]
    assert pages[0].next_cursor == "t3_b|" and pages[1].next_cursor is None
    assert pages[0].newest == "1700000300"
    # reset is seconds-until-reset: wait 7 s for the exhausted window, then 3 s for the 429
    assert clock.sleeps == [7.0, 3.0]
    (token_req,) = fixture_server.calls("/api/v1/access_token")
    assert token_req.method == "POST" and b"grant_type=client_credentials" in token_req.body
    assert token_req.headers["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    calls = fixture_server.calls(SEARCH)
    assert calls[0].headers["authorization"] == "bearer tok123"
    assert calls[0].headers["user-agent"].startswith("python:echo-bench:")
    assert calls[0].query == {"q": "4o image", "restrict_sr": "1", "sort": "new", "t": "all", "type": "link",
                              "limit": "2", "raw_json": "1"}
    assert calls[-1].query["after"] == "t3_b"


def test_watermark_stops_paging_and_a_resumed_crawl_keeps_its_floor(fixture_server):
    clock = FakeClock()
    fixture_server.route("/api/v1/access_token", TOKEN)
    fixture_server.route(SEARCH, Reply(200, listing(t3("n", 1_700_000_500), t3("o", 1_700_000_000), after="t3_o")))
    src = make_source(fixture_server, clock)
    pages = list(src.search("4o image", None, "1700000000"))
    assert len(pages) == 1 and pages[0].next_cursor is None and len(fixture_server.calls(SEARCH)) == 1
    # resuming below a newer saved watermark: the cursor's own floor (empty here) applies, so paging goes on
    fixture_server.route(SEARCH, Reply(200, listing(t3("p", 1_600_000_000), after=None)))
    resumed = list(src.search("4o image", "t3_o|", "1700000500"))
    assert [p.post_id for p in resumed[0].posts] == ["t3_p"]
    assert fixture_server.calls(SEARCH)[-1].query["after"] == "t3_o"


def test_block_page_keeps_pages_so_far_and_5xx_is_retried(fixture_server):
    clock = FakeClock()
    fixture_server.route("/api/v1/access_token", TOKEN)
    fixture_server.route(SEARCH, Reply(503, {"error": 503}), Reply(200, listing(t3("a"), after="t3_a")), block_page())
    src = make_source(fixture_server, clock)
    got = []
    with pytest.raises(SourceBlocked, match="HTML"):
        for page in src.search("4o image", None, None):
            got.append(page)
    assert [p.post_id for page in got for p in page.posts] == ["t3_a"]
    assert got[0].next_cursor == "t3_a|"  # what the crawl stage saves to resume from
    assert clock.sleeps == [0.5]  # one backoff for the 503


def test_malformed_json_is_a_clear_error(fixture_server):
    fixture_server.route("/api/v1/access_token", TOKEN)
    fixture_server.route(SEARCH, Reply(200, '{"kind": "Listing", "data": {', {"content-type": "application/json"}))
    src = make_source(fixture_server, FakeClock())
    with pytest.raises(MalformedResponse, match="not valid JSON"):
        list(src.search("4o image", None, None))


def test_fetch_tree_expands_more_stubs_within_breadth(fixture_server):
    fixture_server.route("/api/v1/access_token", TOKEN)
    top = t1("a", "t3_L", replies=listing(t1("b", "t1_a"), more("t1_a", [f"x{i}" for i in range(5)], depth=1)))
    fixture_server.route("/comments/L", Reply(200, [listing(t3("L")), listing(top, more("t3_L", ["y1"], depth=0))]))

    def morechildren(req):
        ids = req.query["children"].split(",")
        parent = "t1_a" if ids[0].startswith("x") else "t3_L"
        return Reply(200, {"json": {"errors": [], "data": {"things": [t1(i, parent) for i in ids]}}})

    fixture_server.route("/api/morechildren", handler=morechildren)
    src = make_source(fixture_server, FakeClock(), tree_breadth=6, tree_depth=4)
    tree = src.fetch_tree(Post(platform="reddit", post_id="t3_L", root_id="t3_L"))
    ids = [p.post_id for p in tree.posts]
    assert ids == ["t3_L", "t1_a", "t1_b", "t1_x0", "t1_x1", "t1_x2"]  # breadth 6 stops the expansion
    assert {p.root_id for p in tree.posts} == {"t3_L"}
    assert {p.parent_id for p in tree.posts if p.post_id.startswith("t1_x")} == {"t1_a"}
    (call,) = fixture_server.calls("/api/morechildren")
    assert call.query["link_id"] == "t3_L" and call.query["children"] == "x0,x1,x2"
    tree_call = fixture_server.calls("/comments/L")[0]
    assert tree_call.query["depth"] == "4" and tree_call.query["limit"] == "6"


def test_text_escaping_of_the_api_is_undone():
    """Without raw_json=1 Reddit escapes &, < and > in titles, self text and comments; stored text is unescaped."""
    from echo.sources.reddit import comment_post, link_post

    post, _ = link_post({"name": "t3_a", "id": "a", "title": "Tom &amp; Jerry &lt;3", "selftext": "a &gt; b",
                         "permalink": "/r/x/comments/a/"}, CTX)
    assert post.text == "Tom & Jerry <3\n\na > b"
    reply, _ = comment_post({"name": "t1_b", "id": "b", "body": "R&amp;D &amp;amp; more", "link_id": "t3_a",
                             "parent_id": "t3_a"}, CTX)
    assert reply.text == "R&D &amp; more"  # one level of escaping is undone, not two
