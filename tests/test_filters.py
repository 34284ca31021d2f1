"""Cheap filters: the pure rules, and the stage on a store (tree-aware, idempotent, re-judging grown trees)."""

from __future__ import annotations

import pytest

from echo import pipeline
from echo.filters import cheap
from echo.records import Post, PostMedia

KW = ["4o", "gpt-4o", "chatgpt", "nano banana", "midjourney", "dall-e"]


@pytest.mark.parametrize("text,expected", [
    ("Made this with GPT-4o!", "gpt-4o"),
    ("4o image gen is wild", "4o"),
    ("#nanobanana strikes again", "nano banana"),
    ("Nano-Banana edit", "nano banana"),
    ("my new Audi A4o is here", None),
    ("scored 40 points", None),
    ("dall-e 3 vs dalle", "dall-e"),
    ("", None),
])
def test_keyword_match_respects_word_boundaries(text, expected):
    assert cheap.matched_keyword(text, KW) == expected


def test_text_length_and_language_rules():
    assert not cheap.text_long_enough("ok", 0, 3)
    assert cheap.text_long_enough("ok", 1, 3)  # a post with an image may be short
    assert cheap.text_long_enough("wow!", 0, 3)
    assert cheap.language_allowed("en-US", ["en"])
    assert not cheap.language_allowed("ja", ["en", "de"])
    assert cheap.language_allowed(None, ["en"])
    assert cheap.language_allowed("ja", [])


def test_tree_judgement_uses_root_and_author_thread():
    posts = [
        cheap.TreePost(post_id="r", text="look what I made", author="alice", root_id="r", n_images=1),
        cheap.TreePost(post_id="a2", text="(made with ChatGPT, prompt below)", author="alice", parent_id="r", root_id="r"),
        cheap.TreePost(post_id="b1", text="this is amazing", author="bob", parent_id="r", root_id="r"),
        cheap.TreePost(post_id="a3", text="thanks bob", author="alice", parent_id="b1", root_id="r"),
    ]
    v = cheap.judge_tree(posts, keywords=KW, min_chars=3)
    assert v["r"] == cheap.Verdict(True, "keyword:chatgpt@author_thread")
    assert v["b1"].passed and v["b1"].reason == "keyword:chatgpt@tree"
    assert v["a3"].passed

    # A model named only by another user's reply keeps the tree for the relevance judge, which decides what the
    # thread is about; a tree that names no model anywhere stays out.
    posts2 = [
        cheap.TreePost(post_id="r", text="my cat sleeping", author="alice", root_id="r", n_images=1),
        cheap.TreePost(post_id="b1", text="is this 4o?", author="bob", parent_id="r", root_id="r"),
    ]
    v2 = cheap.judge_tree(posts2, keywords=KW, min_chars=3)
    assert v2 == {"r": cheap.Verdict(True, "keyword:4o@reply"), "b1": cheap.Verdict(True, "keyword:4o@tree")}
    v3 = cheap.judge_tree(posts2[:1] + [cheap.TreePost(post_id="b1", text="so cute", author="bob", parent_id="r",
                                                         root_id="r")], keywords=KW, min_chars=3)
    assert v3 == {"r": cheap.Verdict(False, "no_keyword"), "b1": cheap.Verdict(False, "no_keyword")}
    # a post of another tree quoting this one counts too
    quote = cheap.TreePost(post_id="z", text="ChatGPT's new image model did this", author="carol", quoted_id="r",
                           root_id="z")
    v4 = cheap.judge_tree(posts2[:1], keywords=KW, min_chars=3, quoting=[quote])
    assert v4 == {"r": cheap.Verdict(True, "keyword:chatgpt@quote")}


def test_quote_passes_on_the_quoted_post_and_orphans_on_their_own_text():
    quoted = {"q": cheap.TreePost(post_id="q", text="GPT-4o made this poster")}
    posts = [cheap.TreePost(post_id="s", text="the lettering is perfect", author="c", root_id="s", quoted_id="q")]
    assert cheap.judge_tree(posts, keywords=KW, min_chars=3, quoted=quoted)["s"] == cheap.Verdict(True, "keyword:gpt-4o@quoted")
    orphan = [cheap.TreePost(post_id="o", text="midjourney did better", author="d", parent_id="gone", root_id="gone")]
    assert cheap.judge_tree(orphan, keywords=KW, min_chars=3)["o"].passed


def _post(pid, text, author, root="r", parent=None, lang="en", minute=0):
    import datetime as dt

    return Post(platform="bluesky", post_id=pid, text=text, author=author, author_id=author, root_id=root,
                parent_id=parent, lang=lang, created_at=dt.datetime(2025, 4, 1, 12, minute, tzinfo=dt.UTC))


def _run(config, store):
    ctx = pipeline.start_run(config, store)
    pipeline.run_stage(ctx, pipeline.selected_stages(only=["filter"])[0])
    return ctx.stage_stats("filter")


@pytest.fixture(params=[1, 20_000], ids=["a tree per slice", "one slice"])
def slices(request, monkeypatch):
    """The stage judges the pending trees a slice at a time: the verdicts do not depend on the slicing."""
    from echo.stages import filter as filter_stage

    monkeypatch.setattr(filter_stage, "TREES_PER_SLICE", request.param)


def test_filter_stage_on_a_store_is_idempotent_and_rejudges_grown_trees(config, store, slices):
    config.filter.languages = ["en"]
    store.upsert("posts", [
        _post("r", "new pic", "alice"),
        _post("b1", "gorgeous!", "bob", parent="r", minute=1),
        _post("b2", "ok", "carol", parent="r", minute=2),
        _post("j1", "4o で作った", "dan", root="j1", lang="ja"),
        _post("x1", "GPT-4o turned my dog into a Pixar character", "erin", root="x1"),
    ])
    store.upsert("post_media", [PostMedia(platform="bluesky", post_id="r", url="https://e.invalid/1.png", position=0)])
    stats = _run(config, store)
    rows = {r["post_id"]: r for r in store.query("SELECT * FROM relevance WHERE judge = 'cheap'")}
    assert {k: (v["passed"], v["reason"]) for k, v in rows.items()} == {
        "r": (False, "no_keyword"),
        "b1": (False, "no_keyword"),
        "b2": (False, "short_text"),
        "j1": (False, "language:ja"),
        "x1": (True, "keyword:gpt-4o@root"),
    }
    assert all(r["score"] is None and r["model"] == "rules:cheap.v1" and r["prompt_version"] == "cheap.v1"
               for r in rows.values())
    assert stats["passed"] == 1 and stats["failed_no_keyword"] == 2 and stats["failed_short_text"] == 1
    assert stats["failed_language"] == 1

    # Second run on unchanged data: nothing judged, nothing written.
    assert _run(config, store)["judged"] == 0
    assert store.count("relevance") == 5

    # The author adds "made with ChatGPT" under their root: the tree now passes, short text still fails.
    store.upsert("posts", [_post("a2", "made with ChatGPT image gen", "alice", parent="r", minute=3)])
    stats = _run(config, store)
    rows = {r["post_id"]: (r["passed"], r["reason"]) for r in store.query("SELECT * FROM relevance WHERE judge = 'cheap'")}
    assert rows["r"] == (True, "keyword:chatgpt@author_thread")
    assert rows["b1"] == (True, "keyword:chatgpt@tree") and rows["a2"][0] is True
    assert rows["b2"] == (False, "short_text")
    assert stats["rejudged_passed"] == 2 and store.count("relevance") == 6
    assert _run(config, store)["judged"] == 0


def test_a_later_quote_naming_the_model_rejudges_the_quoted_tree(config, store, slices):
    store.upsert("posts", [_post("r", "look at this poster", "alice"), _post("b1", "so good", "bob", parent="r", minute=1)])
    _run(config, store)
    assert store.query("SELECT post_id, passed FROM relevance WHERE judge = 'cheap' ORDER BY post_id") == [
        {"post_id": "b1", "passed": False}, {"post_id": "r", "passed": False}]
    quote = _post("q", "4o image gen keeps getting better", "carol", root="q", minute=5)
    quote.quoted_id = "r"
    store.upsert("posts", [quote])
    stats = _run(config, store)
    rows = {r["post_id"]: (r["passed"], r["reason"]) for r in store.query("SELECT * FROM relevance WHERE judge = 'cheap'")}
    assert rows == {"r": (True, "keyword:4o@quote"), "b1": (True, "keyword:4o@tree"), "q": (True, "keyword:4o@root")}
    assert stats["rejudged_passed"] == 2
