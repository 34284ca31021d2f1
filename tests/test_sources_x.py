"""X v2 parsers on real recorded responses and on synthetic edge cases; the live connector over 127.0.0.1."""

from __future__ import annotations

import pytest
from fixtures_http import FakeClock, FixtureServer, Reply

from echo.config import SourceConfig
from echo.sources import x
from echo.sources.base import ParseContext
from echo.sources.http import HttpClient
from echo.sources.importer import parse_file


def ctx(query="q"):
    return ParseContext(source="x-test", query=query, run_id="r1")


def links(parsed):
    posts = {p.post_id: p for p in parsed.posts}
    return (len(posts), len(parsed.post_media), sum(1 for p in posts.values() if p.parent_id),
            sum(1 for p in posts.values() if p.quoted_id), len(parsed.errors))


# posts, images, reply links, quote links, crawl errors: counted from the files by hand (unique tweet ids in
# data + includes.tweets; images = attachments.media_keys resolved in includes.media)
TWARC = {
    "entities_test.jsonl": (650, 0, 126, 21, 0),
    "media_tweet.jsonl": (1, 1, 0, 0, 0),
    "mentions_tweet.jsonl": (2, 0, 0, 0, 0),
    "quoted_edit.jsonl": (3, 0, 1, 1, 0),
    "streaming_output_with_error.jsonl": (11, 2, 3, 1, 1),  # its last line is a cut-off stream line
    "two_tweets.jsonl": (2, 0, 0, 0, 0),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(TWARC))
def test_twarc2_jsonl_counts(realdata, name):
    parsed = parse_file(realdata / "x" / "twarc_csv_v2_jsonl" / name, "x", ctx())
    assert links(parsed) == TWARC[name]


@pytest.mark.realdata
def test_twarc2_details(realdata):
    d = realdata / "x" / "twarc_csv_v2_jsonl"
    media = parse_file(d / "media_tweet.jsonl", "x", ctx())
    (post,) = media.posts
    assert post.author == "IgorBrigadir" and post.like_count == 93 and post.root_id == post.post_id
    # a video: its preview image is what we keep
    assert media.post_media[0].url.startswith("https://pbs.twimg.com/ext_tw_video_thumb/1558552952549277696")
    quoted = {p.post_id: p for p in parse_file(d / "quoted_edit.jsonl", "x", ctx()).posts}
    (quoter,) = [p for p in quoted.values() if p.quoted_id]
    assert quoter.quoted_id in quoted and quoter.query == "q"
    assert quoted[quoter.quoted_id].query is None  # context from includes.tweets
    broken = parse_file(d / "streaming_output_with_error.jsonl", "x", ctx())
    assert broken.errors[0].kind == "malformed_page" and broken.errors[0].raw.startswith('{"data": {"author_id"')


@pytest.mark.realdata
def test_tweepy_and_pytwitter_pages(realdata):
    tweepy = realdata / "x" / "tweepy_cassettes_decoded"
    assert links(parse_file(tweepy / "test_client_search_recent_tweets.json", "x", ctx())) == (10, 0, 0, 0, 0)
    assert links(parse_file(tweepy / "test_client_get_quote_tweets.json", "x", ctx())) == (9, 0, 0, 0, 0)
    counts = parse_file(tweepy / "test_client_get_recent_tweets_count.json", "x", ctx())
    assert links(counts) == (0, 0, 0, 0, 0) and counts.skipped["not_a_tweet"] == 169
    apis = realdata / "x" / "pytwitter_testdata" / "apis"
    search = parse_file(apis / "searches" / "search_tweets_query.json", "x", ctx())
    assert links(search) == (6, 0, 5, 0, 0)  # media_keys without includes.media: no image URL to keep
    by_id = {p.post_id: p for p in search.posts}
    assert by_id["1276035977375477760"].parent_id == "1275653067283759104"
    assert by_id["1276035977375477760"].author == "happycamper"
    assert links(parse_file(apis / "searches" / "search_tweets_for_nyc.json", "x", ctx())) == (10, 0, 1, 1, 0)


PAGE = {
    "data": [
        {"id": "20", "text": "short…", "note_tweet": {"text": "the whole long prompt: a corgi astronaut " * 10},
         "author_id": "1", "conversation_id": "10", "created_at": "2025-03-27T10:00:00.000Z", "lang": "en",
         "public_metrics": {"like_count": 5, "retweet_count": 1, "reply_count": 2, "quote_count": 0},
         "referenced_tweets": [{"type": "replied_to", "id": "10"}, {"type": "quoted", "id": "5"}],
         "attachments": {"media_keys": ["3_1", "3_2"]}},
        {"id": "21", "author_id": "2"},  # no text: a bad item, kept raw
        "garbage",
    ],
    "includes": {
        "users": [{"id": "1", "username": "alice", "name": "A"}],
        "media": [{"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/media/a.jpg", "alt_text": "cat"},
                  {"media_key": "3_2", "type": "animated_gif", "preview_image_url": "https://pbs.twimg.com/b.jpg"}],
        "tweets": [{"id": "10", "text": "root", "author_id": "1", "conversation_id": "10"}],
    },
    "meta": {"newest_id": "20", "next_token": "tok2", "result_count": 2},
}


def test_synthetic_page_fields():
    parsed = x.parse_payload(PAGE, ctx())
    posts = {p.post_id: p for p in parsed.posts}
    hit = posts["20"]
    assert hit.text.startswith("the whole long prompt") and hit.author == "alice"
    assert (hit.parent_id, hit.root_id, hit.quoted_id) == ("10", "10", "5")
    assert (hit.like_count, hit.repost_count, hit.reply_count) == (5, 1, 2)
    assert hit.url == "https://x.com/alice/status/20"
    assert [(m.url, m.position, m.alt_text) for m in parsed.post_media] == [
        ("https://pbs.twimg.com/media/a.jpg", 0, "cat"), ("https://pbs.twimg.com/b.jpg", 1, None)]
    assert posts["10"].root_id == "10" and posts["10"].query is None
    # item 21 is neither a tweet nor an error (user-like object without text); "garbage" is a bad item
    assert [e.kind for e in parsed.errors] == ["bad_item"]
    assert parsed.next_cursor == "tok2" and parsed.newest == "20"
    assert x.parse_payload({"title": "Unauthorized", "detail": "no", "type": "about:blank"}, ctx()).errors[0].kind == "api_error"


def _search_handler(pages):
    def handle(req):
        return Reply(200, pages[req.query.get("next_token", "")])
    return handle


def test_live_search_pages_since_id_and_tree():
    page1 = {"data": [{"id": "30", "text": "gpt-4o image", "author_id": "1", "conversation_id": "30"}],
             "includes": {"users": [{"id": "1", "username": "alice"}]}, "meta": {"newest_id": "30", "next_token": "p2"}}
    page2 = {"data": [{"id": "29", "text": "another", "author_id": "1", "conversation_id": "29"}],
             "meta": {"newest_id": "29"}}
    replies = {"data": [{"id": "31", "text": "nice", "author_id": "2", "conversation_id": "30",
                         "referenced_tweets": [{"type": "replied_to", "id": "30"}]},
                        {"id": "32", "text": "deep", "author_id": "2", "conversation_id": "30",
                         "referenced_tweets": [{"type": "replied_to", "id": "31"}]}]}
    clock = FakeClock()
    with FixtureServer() as srv:
        def search(req):
            if req.query["query"].startswith("conversation_id:"):
                return Reply(200, replies)
            return Reply(200, {"": page1, "p2": page2}[req.query.get("next_token", "")])
        srv.route("/2/tweets/search/recent", handler=search)
        srv.route("/2/tweets", Reply(200, {"data": [{"id": "30", "text": "gpt-4o image", "author_id": "1"}]}))
        cfg = SourceConfig(name="x", kind="x", max_pages=5, tree_depth=1)
        src = x.Source(cfg, HttpClient("x", base_url=srv.url, sleep=clock.sleep, clock=clock.time),
                       env={"ECHO_X_BEARER_TOKEN": "tkn"})
        pages = list(src.search("gpt-4o", None, "25"))
        assert [p.post_id for pg in pages for p in pg.posts] == ["30", "29"]
        first = srv.calls("/2/tweets/search/recent")[0]
        assert first.headers["authorization"] == "Bearer tkn" and first.query["since_id"] == "25"
        assert "note_tweet" in first.query["tweet.fields"] and srv.calls("/2/tweets/search/recent")[1].query["next_token"] == "p2"
        tree = src.fetch_tree(pages[0].posts[0])
        assert sorted(p.post_id for p in tree.posts) == ["31"]  # 32 is deeper than tree_depth=1
        assert tree.skipped["deeper_than_tree_depth"] == 1
        assert srv.calls("/2/tweets/search/recent")[-1].query["query"] == "conversation_id:30"


def test_missing_token_is_a_clear_error():
    from echo.sources.http import SourceAuthError

    with pytest.raises(SourceAuthError, match="ECHO_X_BEARER_TOKEN"):
        x.Source(SourceConfig(name="x", kind="x"), env={})


def test_text_escaping_of_the_api_is_undone():
    """X escapes &, < and > in tweet text; the stored post is what the author wrote (prompts compare to it)."""
    page = {"data": [{"id": "9", "author_id": "1", "text": "Prompt: a &lt;neon&gt; sign saying 'Tom &amp; Jerry' &copy;"}],
            "includes": {"users": [{"id": "1", "username": "ann"}]}, "meta": {"result_count": 1}}
    (post,) = x.parse_payload(page, ctx()).posts
    assert post.text == "Prompt: a <neon> sign saying 'Tom & Jerry' &copy;"
