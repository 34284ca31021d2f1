"""Bluesky parsers on real recorded responses and edge cases; the session and connector over 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest
from fixtures_http import FakeClock, FixtureServer, Reply

from echo.config import SourceConfig
from echo.sources import bluesky
from echo.sources.base import ParseContext
from echo.sources.http import HttpClient
from echo.sources.importer import parse_file, read_bodies


def ctx(query="q"):
    return ParseContext(source="bsky-test", query=query, run_id="r1")


def links(parsed):
    posts = {p.post_id: p for p in parsed.posts}
    return (len(posts), len(parsed.post_media), sum(1 for p in posts.values() if p.parent_id),
            sum(1 for p in posts.values() if p.quoted_id))


# posts, images, reply links, quote links, counted from the files: every post view or quoted viewRecord of
# an app.bsky.feed.post (notFound/blocked excluded); images are images#view entries (also inside
# recordWithMedia) and video thumbnails; reply = record.reply; quote = record embed of a post URI.
BSKYR = {
    "f_autfeed.yml": (80, 27, 38, 10),
    "f_feedfeed.yml": (7, 2, 0, 0),
    "f_get_list_feed.yml": (10, 13, 0, 0),
    "f_getlikes.yml": (11, 3, 3, 3),
    "f_getposts.yml": (1, 1, 0, 0),
    "f_getquotes.yml": (3, 0, 0, 2),
    "f_postthread.yml": (1, 1, 0, 0),
    "f_search.yml": (26, 4, 12, 2),
    "f_timeline.yml": (50, 2, 4, 2),
}
MARSHALX = {
    "thread_view_post_with_embed_media.json": (2, 1, 0, 1),
    "post_record.json": (1, 0, 0, 0),
    "extended_post_record.json": (1, 0, 0, 0),
    "feed_record.json": (0, 0, 0, 0),
    "get_follows.json": (0, 0, 0, 0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(BSKYR))
def test_bskyr_cassettes(realdata, name):
    path = realdata / "bluesky" / "bskyr_vcr_cassettes" / name
    (body,) = read_bodies(path)  # one recorded response per cassette, pulled out of the YAML
    assert body.error is None
    parsed = bluesky.parse_payload(body.obj, ctx())
    assert links(parsed) == BSKYR[name] and parsed.errors == []


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(MARSHALX))
def test_marshalx_files(realdata, name):
    parsed = parse_file(realdata / "bluesky" / "marshalx_atproto_test_data" / name, "bluesky", ctx())
    assert links(parsed) == MARSHALX[name]


@pytest.mark.realdata
def test_real_shapes_details(realdata):
    thread = parse_file(realdata / "bluesky" / "marshalx_atproto_test_data" / "thread_view_post_with_embed_media.json",
                        "bluesky", ctx())
    root = next(p for p in thread.posts if p.quoted_id)
    assert root.post_id == "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kaheyt6vpc22"
    assert root.quoted_id == "at://did:plc:kvwvcn5iqfooopmyzvb4qzba/app.bsky.feed.post/3kahesw26il2z"
    assert root.quoted_id in {p.post_id for p in thread.posts}  # the quoted post is stored as context
    assert thread.post_media[0].url.startswith("https://cdn.bsky.app/img/feed_fullsize/plain/")
    assert root.url == "https://bsky.app/profile/test.marshal.dev/post/3kaheyt6vpc22" and root.author == "test.marshal.dev"
    feed = parse_file(realdata / "bluesky" / "bskyr_vcr_cassettes" / "f_autfeed.yml", "bluesky", ctx())
    assert feed.skipped["not_found"] == 6
    video = [m for m in feed.post_media if "video" in m.url]
    assert len(video) == 1 and video[0].url.endswith("thumbnail.jpg")
    (body,) = read_bodies(realdata / "bluesky" / "bskyr_vcr_cassettes" / "f_search.yml")
    search = bluesky.parse_payload(body.obj, ctx())
    assert search.next_cursor == "25" and search.newest.startswith("2025-05-19T")
    record = parse_file(realdata / "bluesky" / "marshalx_atproto_test_data" / "post_record.json", "bluesky", ctx())
    assert record.posts[0].author_id.startswith("did:plc:")


def _view(rkey, text, *, reply_to=None, embed=None, embed_view=None):
    uri = f"at://did:plc:aaa/app.bsky.feed.post/{rkey}"
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2025-03-27T10:00:00.000Z", "langs": ["en"]}
    if reply_to:
        record["reply"] = {"root": {"uri": reply_to[0], "cid": "c"}, "parent": {"uri": reply_to[1], "cid": "c"}}
    if embed:
        record["embed"] = embed
    view = {"uri": uri, "cid": "c", "author": {"did": "did:plc:aaa", "handle": "ann.bsky.social"}, "record": record,
            "likeCount": 3, "replyCount": 1, "repostCount": 0, "quoteCount": 0}
    if embed_view:
        view["embed"] = embed_view
    return view


ROOT = "at://did:plc:aaa/app.bsky.feed.post/root"


def test_thread_with_missing_parent_unknown_embed_and_blob_images():
    images = {"$type": "app.bsky.embed.images", "images": [
        {"alt": "a corgi", "image": {"$type": "blob", "ref": {"$link": "bafkcid1"}, "mimeType": "image/png", "size": 9}}]}
    thread = {"thread": {
        "$type": "app.bsky.feed.defs#threadViewPost",
        "post": _view("root", "prompt: a corgi astronaut", embed=images),  # no hydrated view: URL from the blob
        "parent": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://did:plc:x/app.bsky.feed.post/gone",
                   "notFound": True},
        "replies": [
            {"$type": "app.bsky.feed.defs#threadViewPost",
             "post": _view("r1", "weird", reply_to=(ROOT, ROOT), embed={"$type": "app.bsky.embed.poll", "q": 1})},
            {"$type": "app.bsky.feed.defs#blockedPost", "uri": "at://did:plc:b/app.bsky.feed.post/b", "blocked": True},
        ]}}
    parsed = bluesky.parse_payload(thread, ctx())
    posts = {p.post_id: p for p in parsed.posts}
    assert set(posts) == {ROOT, "at://did:plc:aaa/app.bsky.feed.post/r1"}
    assert posts[ROOT].root_id == ROOT and posts[ROOT].query == "q"
    reply = posts["at://did:plc:aaa/app.bsky.feed.post/r1"]
    assert (reply.parent_id, reply.root_id, reply.query) == (ROOT, ROOT, None)
    assert [(m.url, m.alt_text) for m in parsed.post_media] == [
        ("https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:aaa/bafkcid1@png", "a corgi")]
    assert [e.kind for e in parsed.errors] == ["unknown_embed"] and "app.bsky.embed.poll" in parsed.errors[0].raw
    assert parsed.skipped == {"not_found": 1, "blocked": 1}


def _jwt(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"h.{payload}.s"


ENV = {"ECHO_BLUESKY_HANDLE": "ann.bsky.social", "ECHO_BLUESKY_APP_PASSWORD": "app-pass"}


def test_session_is_created_once_persisted_and_refreshed(tmp_path):
    clock = FakeClock()
    with FixtureServer() as srv:
        srv.route("/xrpc/com.atproto.server.createSession",
                  Reply(200, {"did": "did:plc:aaa", "handle": "ann.bsky.social",
                              "accessJwt": _jwt(clock.now + 7200), "refreshJwt": "refresh-1"}))
        srv.route("/xrpc/com.atproto.server.refreshSession",
                  Reply(200, {"did": "did:plc:aaa", "handle": "ann.bsky.social",
                              "accessJwt": _jwt(clock.now + 99999), "refreshJwt": "refresh-2"}))
        srv.route("/xrpc/app.bsky.feed.searchPosts", Reply(200, {"posts": [_view("p1", "hi")]}))
        cfg = SourceConfig(name="bsky", kind="bluesky", max_pages=1)

        def source():
            return bluesky.Source(cfg, HttpClient("bluesky", base_url=srv.url, sleep=clock.sleep, clock=clock.time),
                                  env=ENV, state_dir=tmp_path)

        assert len(list(source().search("4o", None, None))[0].posts) == 1
        session_file = tmp_path / "sessions" / "bluesky-bsky.json"
        assert stat.S_IMODE(os.stat(session_file).st_mode) == 0o600
        assert json.loads(srv.calls("/xrpc/com.atproto.server.createSession")[0].body) == {
            "identifier": "ann.bsky.social", "password": "app-pass"}
        list(source().search("4o", None, None))  # a second run reuses the stored session
        assert len(srv.calls("/xrpc/com.atproto.server.createSession")) == 1
        clock.now += 7200  # the access token expired: refreshed, not re-created
        list(source().search("4o", None, None))
        assert len(srv.calls("/xrpc/com.atproto.server.createSession")) == 1
        (refresh,) = srv.calls("/xrpc/com.atproto.server.refreshSession")
        assert refresh.headers["authorization"] == "Bearer refresh-1"
        assert json.loads(session_file.read_text())["refreshJwt"] == "refresh-2"
        assert srv.calls("/xrpc/app.bsky.feed.searchPosts")[-1].headers["authorization"] == f"Bearer {_jwt(clock.now - 7200 + 99999)}"


def test_expired_token_answer_triggers_refresh_and_refused_refresh_recreates(tmp_path):
    clock = FakeClock()
    with FixtureServer() as srv:
        srv.route("/xrpc/com.atproto.server.createSession",
                  Reply(200, {"accessJwt": "opaque-1", "refreshJwt": "r1"}),
                  Reply(200, {"accessJwt": "opaque-2", "refreshJwt": "r2"}))
        srv.route("/xrpc/com.atproto.server.refreshSession",
                  Reply(400, {"error": "ExpiredToken", "message": "Token has expired"}))
        srv.route("/xrpc/app.bsky.feed.searchPosts",
                  Reply(400, {"error": "ExpiredToken", "message": "Token has expired"}),
                  Reply(200, {"posts": [], "cursor": None}))
        cfg = SourceConfig(name="bsky", kind="bluesky", max_pages=1)
        src = bluesky.Source(cfg, HttpClient("bluesky", base_url=srv.url, sleep=clock.sleep, clock=clock.time),
                             env=ENV, state_dir=tmp_path)
        assert list(src.search("4o", None, None))[0].posts == []
        assert len(srv.calls("/xrpc/com.atproto.server.createSession")) == 2
        assert srv.calls("/xrpc/app.bsky.feed.searchPosts")[-1].headers["authorization"] == "Bearer opaque-2"
        assert src.session.stats == {"created": 2, "refreshed": 0, "reused": 0}


def test_live_search_cursor_since_and_fetch_tree(tmp_path):
    clock = FakeClock()
    with FixtureServer() as srv:
        srv.route("/xrpc/com.atproto.server.createSession", Reply(200, {"accessJwt": "a", "refreshJwt": "r"}))
        hit = _view("hit", "4o made this", reply_to=(ROOT, ROOT))
        srv.route("/xrpc/app.bsky.feed.searchPosts", handler=lambda req: Reply(200, {
            "": {"posts": [hit], "cursor": "c2"}, "c2": {"posts": [_view("old", "older")]}}[req.query.get("cursor", "")]))
        srv.route("/xrpc/app.bsky.feed.getPostThread", Reply(200, {"thread": {
            "$type": "app.bsky.feed.defs#threadViewPost", "post": _view("root", "root post"),
            "replies": [{"$type": "app.bsky.feed.defs#threadViewPost", "post": hit}]}}))
        quote_embed = {"$type": "app.bsky.embed.record", "record": {"uri": hit["uri"], "cid": "c"}}
        srv.route("/xrpc/app.bsky.feed.getQuotes", Reply(200, {"uri": hit["uri"], "posts": [
            _view("q1", "nailed it", embed=quote_embed)]}))
        cfg = SourceConfig(name="bsky", kind="bluesky", max_pages=3, tree_depth=4, options={"parent_height": 2})
        src = bluesky.Source(cfg, HttpClient("bluesky", base_url=srv.url, sleep=clock.sleep, clock=clock.time),
                             env=ENV, state_dir=tmp_path)
        pages = list(src.search("4o", None, "2025-03-01T00:00:00Z"))
        assert [len(p.posts) for p in pages] == [1, 1]
        calls = srv.calls("/xrpc/app.bsky.feed.searchPosts")
        assert calls[0].query["since"] == "2025-03-01T00:00:00Z" and calls[0].query["sort"] == "latest"
        assert calls[1].query["cursor"] == "c2"
        tree = src.fetch_tree(pages[0].posts[0])
        assert {p.post_id.rsplit("/", 1)[1] for p in tree.posts} == {"root", "hit", "q1"}
        assert next(p for p in tree.posts if p.post_id.endswith("q1")).quoted_id == hit["uri"]
        thread_call = srv.calls("/xrpc/app.bsky.feed.getPostThread")[0]
        assert (thread_call.query["uri"], thread_call.query["depth"], thread_call.query["parentHeight"]) == (ROOT, "4", "2")
