"""Pure parts of the chain: tree building, the checks on a model's samples, prompt checks, image dedup."""

from __future__ import annotations

import pytest

from echo import schema
from echo.llm import prompts
from echo.llm.backend import ImageView, extractor_version
from echo.llm.openai_backend import strict_schema
from echo.llm.extract import dedup_images, has_placeholder, prompt_origin, samples_from_answer
from echo.llm.trees import build_tree, load_trees
from echo.records import Media, PostMedia
from llm_helpers import add, post


def _tree():
    root = post("1", "Prompt (1/2): a cozy cabin in the snow,", author="ann")
    members = [
        post("4", "looks great", author="bob", root="1", parent="3", minutes=4),
        post("2", "(2/2) warm light in the windows, cinematic", author="ann", root="1", parent="1", minutes=1),
        post("3", "same prompt for me: a cozy cabin in the snow, warm light in the windows, cinematic", author="cy",
             root="1", parent="1", minutes=2),
        post("5", "quoting this", author="dee", root="5", quoted="1", minutes=3),
        post("1", "duplicate root row", author="ann"),
    ]
    pms = [PostMedia(platform="x", post_id="2", url="u2", position=0),
           PostMedia(platform="x", post_id="1", url="u1b", position=1),
           PostMedia(platform="x", post_id="1", url="u1a", position=0)]
    media = {"u1a": Media(url="u1a", status="ok", path="a.png", sha256="s1", width=10, height=10),
             "u1b": Media(url="u1b", status="failed")}
    return build_tree(root, members, pms, media, media_dir="/m")


def test_build_tree_orders_by_time_with_depth_and_images():
    t = _tree()
    assert [p.post_id for p in t.posts] == ["1", "2", "3", "5", "4"]
    assert {p.post_id: p.depth for p in t.posts} == {"1": 0, "2": 1, "3": 1, "5": 1, "4": 2}
    assert t.root.image_ids == ("u1a", "u1b")
    a, b, c = t.images
    assert (a.image_id, a.path, a.sha256) == ("u1a", "/m/a.png", "s1")
    assert (b.image_id, b.path, b.sha256) == ("u1b", None, None)  # failed download: no pixels
    assert [im.image_id for im in t.images_of(["2", "1"])] == ["u2", "u1a", "u1b"]


def test_tree_hash_changes_with_content():
    t = _tree()
    root = post("1", "Prompt (1/2): a cozy cabin in the snow, EDITED", author="ann")
    assert build_tree(root, [], []).content_hash() != t.content_hash()
    assert _tree().content_hash() == t.content_hash()


def test_load_trees_from_store(store):
    add(store, [post("1", "root"), post("2", "reply", root="1", parent="1", minutes=1),
                post("3", "quote of root", quoted="1", minutes=2), post("7", "other root", minutes=3)])
    (t,) = load_trees(store, [("x", "1")])
    assert [p.post_id for p in t.posts] == ["1", "2", "3"]


def test_samples_from_answer_enforces_ids_single_use_and_prompt_check():
    t = _tree()
    doc = {"samples": [
        {"anchor_post_id": "1", "prompt": "a cozy cabin in the snow, warm light in the windows, cinematic",
         "prompt_modified": False, "evidence_post_ids": ["1", "2", "nope"], "quality": "benchmark",
         "task": "text_to_image", "feedback_post_ids": ["4", "2", "ghost"], "notes": ""},
        {"anchor_post_id": "2", "prompt": "warm light", "prompt_modified": False, "evidence_post_ids": ["2"],
         "quality": "benchmark", "task": None, "feedback_post_ids": ["4"], "notes": ""},
        {"anchor_post_id": "5", "prompt": "A cozy cabin in the snow, warm light in the windows, cinematic.",
         "prompt_modified": False, "evidence_post_ids": ["5"], "quality": "benchmark", "task": None,
         "feedback_post_ids": [], "notes": ""},
    ]}
    schema.validate("llm/tree_to_samples", doc)
    (d,) = samples_from_answer(t, doc)
    # sample 2 only reused a taken post; sample 3 has the same prompt so merged; reply 3 repeats the prompt
    assert d.evidence == ["1", "2", "3", "5"]
    assert d.feedback_ids == ["4"]
    assert d.origin == "verbatim"  # post 3 contains the whole prompt verbatim
    assert d.prompt_modified is False
    d2 = samples_from_answer(t, {"samples": [{**doc["samples"][0], "evidence_post_ids": ["1", "2"]}]})[0]
    assert d2.evidence[:2] == ["1", "2"]


def test_prompt_origin():
    posts = ["Prompt (1/2): a cozy cabin in the snow,", "(2/2) warm light in the windows"]
    assert prompt_origin("a cozy cabin in the snow", posts) == "verbatim"
    assert prompt_origin("“A cozy cabin in the snow”", posts) == "verbatim"
    assert prompt_origin("a cozy cabin in the snow, warm light in the windows", posts) == "stitched"
    assert prompt_origin("a castle on a hill", posts) == "not_found"
    assert prompt_origin(None, posts) is None


@pytest.mark.parametrize("text,expected", [
    ("a photo of [animal] wearing a hat", True), ("<your name> written in neon", True),
    ("portrait of (x) as a knight", True), ("a cat (orange) on a sofa", False), ("part (2/2) of the prompt", False),
    ("a red fox in the snow", False),
])
def test_placeholders(text, expected):
    assert has_placeholder(text) is expected


def test_dedup_images_by_url_sha_and_phash():
    ims = [ImageView("a", "1", sha256="s1", phash="p1"), ImageView("b", "1", sha256="s1"),
           ImageView("c", "2", phash="p1"), ImageView("a", "2"), ImageView("d", "2", sha256="s9", phash="p9")]
    uniq, dupes = dedup_images(ims)
    assert [i.image_id for i in uniq] == ["a", "d"] and dupes == {"b": "a", "c": "a"}


def test_templates_are_versioned_and_render():
    v = prompts.versions()
    assert v["relevance"] == "relevance.v2" and set(v) == set(prompts.STEPS)
    system, user = prompts.template("relevance").render(target_model="m", n=1, posts="<post>")
    assert "Step: relevance" in system and "DATA" in system and "<post>" in user


def test_strict_schema_keeps_structure_only():
    s = strict_schema(schema.json_schema("llm/feedback"))
    item = s["properties"]["feedback"]["items"]
    assert item["required"] == ["post_id", "polarity", "keywords", "categories"]
    assert "maxItems" not in item["properties"]["keywords"] and "$schema" not in s


def test_extractor_version_joins_step_versions():
    class B:
        def versions(self):
            return prompts.versions()

    assert extractor_version(B()).startswith("tree_to_samples.v2+image_roles.v1+")


def test_one_post_listing_several_prompts_anchors_one_sample_each():
    root = post("1", "GPT-4o two tries: 1) a red fox reading a newspaper 2) a glass teapot full of galaxies",
                author="ann")
    t = build_tree(root, [post("2", "love the fox", author="bob", root="1", parent="1", minutes=1)], [])
    doc = {"samples": [
        {"anchor_post_id": "1", "prompt": "a red fox reading a newspaper", "prompt_modified": False,
         "evidence_post_ids": ["1"], "quality": "benchmark", "task": "text_to_image",
         "feedback_post_ids": ["2"], "notes": ""},
        {"anchor_post_id": "1", "prompt": "a glass teapot full of galaxies", "prompt_modified": False,
         "evidence_post_ids": ["1"], "quality": "benchmark", "task": "text_to_image",
         "feedback_post_ids": ["2"], "notes": ""},
        {"anchor_post_id": "1", "prompt": "fox", "prompt_modified": False,  # too short to be "found" by accident
         "evidence_post_ids": ["1"], "quality": "benchmark", "task": "text_to_image",
         "feedback_post_ids": [], "notes": ""},
    ]}
    fox, teapot = samples_from_answer(t, doc)
    assert (fox.prompt, teapot.prompt) == ("a red fox reading a newspaper", "a glass teapot full of galaxies")
    assert fox.evidence == teapot.evidence == ["1"]
    assert (fox.ordinal, teapot.ordinal) == (0, 1) and fox.sample_id != teapot.sample_id
    assert fox.feedback_ids == ["2"] and teapot.feedback_ids == []  # a reply still judges one sample only
