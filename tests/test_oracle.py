"""The oracle (tests/oracle.py) answers from its key, but only from what a request shows.

Requests are built by echo's own backend (OpenAIBackend over the fake server), so the oracle reads exactly
what a model would: rendered posts, image lines and downscaled JPEG data URLs.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from echo.llm.backend import ImageView, PostView, RelevanceItem, SampleItem, ScreenshotItem, TreeItem
from echo.llm.openai_backend import OpenAIBackend
from fake_openai import FakeOpenAI
from oracle import AnswerKey, Oracle, placeholder_values, visible_in

PREFIX = "https://key.invalid/media/"
CORGI = "a corgi astronaut on the moon, watercolor"
LIGHTHOUSE = "a lighthouse in a storm at dusk, oil painting with heavy impasto"
SPLIT = "A snow globe containing a tiny city skyline during a blizzard, in a warm painterly style with brush strokes"
TEMPLATE = "A trading card of [your pet] with stats for speed, cuteness and chaos"
FILLED = "A trading card of my cat Miso with stats for speed, cuteness and chaos"


def picture(path: Path, seed: int, size=(600, 400)) -> Path:
    """A distinct picture: a colour field with shapes placed by seed."""
    img = Image.new("RGB", size, ((seed * 67) % 256, (seed * 131) % 256, (seed * 199) % 256))
    d = ImageDraw.Draw(img)
    w, h = size
    d.rectangle([w * (seed % 4) // 5, h // 6, w * (seed % 4) // 5 + w // 4, h // 2], fill=(250, 250, 250))
    d.ellipse([w // 2, h * (seed % 3) // 4, w // 2 + w // 5, h * (seed % 3) // 4 + h // 4], fill=(10, 10, 10))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def pv(pid: str, text: str, author: str = "alice", parent: str | None = None, images=(), depth: int = 0) -> PostView:
    return PostView(post_id=pid, author=author, text=text, image_ids=tuple(images), depth=depth, parent_id=parent)


def iv(media: Path, name: str, post: str, alt: str | None = None, position: int = 0) -> ImageView:
    p = media / name
    with Image.open(p) as img:
        w, h = img.size
    return ImageView(image_id=PREFIX + name, post_id=post, position=position, alt_text=alt, path=str(p), width=w, height=h)


@pytest.fixture
def world(tmp_path):
    media = tmp_path / "media"
    for n, name in enumerate(["out.png", "in.png", "meme.png", "out2.png", "shot.png", "card.png"], 1):
        picture(media / name, n)
    picture(media / "out_copy.png", 1)  # the same picture as out.png under another URL
    picture(media / "shot.png", 5, size=(1200, 800))
    key = {"media_url_prefix": PREFIX, "trees": [
        {"tree_id": "t1", "platform": "x", "root_post_id": "r", "relevant": True, "categories": ["text_to_image"],
         "post_ids": ["r", "a", "b", "c", "d"], "relevance_evidence_post_ids": ["a"], "samples": [
            {"prompt": CORGI, "prompt_modified": False, "prompt_fill_blank": None, "task": "image_to_image",
             "quality": "benchmark", "input_images": [PREFIX + "in.png"], "output_images": [PREFIX + "out.png"],
             "is_screenshot": False, "input_boxes": None, "anchor_post_id": "r", "evidence_post_ids": ["r"],
             "feedback": [{"post_id": "b", "polarity": "failure", "categories": ["detail", "color shift"]}]},
            {"prompt": LIGHTHOUSE, "prompt_modified": False, "prompt_fill_blank": None, "task": "text_to_image",
             "quality": "benchmark", "input_images": [], "output_images": [PREFIX + "out2.png"],
             "is_screenshot": False, "input_boxes": None, "anchor_post_id": "a", "evidence_post_ids": ["a"],
             "feedback": [{"post_id": "d", "polarity": "success", "categories": []}]}]},
        {"tree_id": "t2", "platform": "x", "root_post_id": "s1", "relevant": True, "categories": ["split_prompt"],
         "post_ids": ["s1", "s2"], "samples": [
            {"prompt": SPLIT, "prompt_modified": True, "prompt_fill_blank": None, "task": "text_to_image",
             "quality": "benchmark", "input_images": [], "output_images": [], "is_screenshot": False,
             "input_boxes": None, "anchor_post_id": "s1", "evidence_post_ids": ["s1", "s2"], "feedback": []}]},
        {"tree_id": "t3", "platform": "x", "root_post_id": "m", "relevant": False, "categories": ["other_model:flux"],
         "post_ids": ["m"], "samples": []},
        {"tree_id": "t4", "platform": "x", "root_post_id": "k", "relevant": True, "categories": ["fill_in_the_blank"],
         "post_ids": ["k"], "samples": [
            {"prompt": FILLED, "prompt_modified": True, "prompt_fill_blank": TEMPLATE, "task": "text_to_image",
             "quality": "benchmark", "input_images": [], "output_images": [PREFIX + "card.png"], "is_screenshot": False,
             "input_boxes": None, "anchor_post_id": "k", "evidence_post_ids": ["k"], "feedback": []}]},
        {"tree_id": "t5", "platform": "x", "root_post_id": "q", "relevant": True, "categories": ["screenshot"],
         "post_ids": ["q"], "samples": [
            {"prompt": "make my dog a knight", "prompt_modified": False, "prompt_fill_blank": None,
             "task": "image_to_image", "quality": "benchmark", "input_images": [PREFIX + "shot.png"],
             "output_images": [PREFIX + "shot.png"], "is_screenshot": True,
             "input_boxes": {"screenshot": PREFIX + "shot.png", "input": [100, 40, 300, 240],
                             "output": [600, 400, 1100, 780], "prompt_bubble": [100, 300, 500, 360], "size": [1200, 800]},
             "anchor_post_id": "q", "evidence_post_ids": ["q"], "feedback": []}]},
    ]}
    return media, Oracle(AnswerKey(key, media))


@pytest.fixture
def backend(config, world):
    media, oracle = world
    with FakeOpenAI(responders=oracle.responders()) as fake:
        config.llm.base_url = fake.base_url
        config.llm.image_max_side = 300  # every picture is downscaled and re-encoded before it is sent
        yield OpenAIBackend(config), oracle, media, fake
        assert fake.errors == []


def test_prompt_visibility_and_split_prompts():
    assert visible_in(CORGI, ["GPT-4o image gen. Prompt: A Corgi astronaut on the moon, watercolor!"]) == [0]
    parts = ["4o prompt (1/2): A snow globe containing a tiny city skyline during a blizzard, in a",
             "(2/2) warm painterly style with brush strokes", "nice"]
    assert visible_in(SPLIT, parts) == [0, 1]
    assert visible_in(SPLIT, parts[:1]) is None  # half a prompt is not the prompt
    assert visible_in("a cat in a hat on a mat", ["a cat", "in a hat", "on a mat"]) is None  # scraps are not parts
    assert placeholder_values(TEMPLATE, FILLED) == {"[your pet]": "my cat miso"}
    assert placeholder_values("a cat (orange) as a [job]", "a cat (orange) as a chef") == {"[job]": "chef"}


def test_tree_to_samples_returns_only_the_prompts_a_request_shows(backend):
    be, oracle, media, _ = backend
    posts = (pv("r", f"GPT-4o image gen. Prompt: {CORGI}", images=[PREFIX + "out.png"]),
             pv("a", "and a second one", parent="r", images=[PREFIX + "out2.png"], depth=1),
             pv("b", "the colours are off", author="bob", parent="r", depth=1),
             pv("c", "how long did it take?", author="cy", parent="r", depth=1),
             pv("d", "love the lighthouse", author="dee", parent="a", depth=2))
    images = (iv(media, "out.png", "r"), iv(media, "out2.png", "a", alt=f"Prompt: {LIGHTHOUSE}"))
    out = be.tree_to_samples([TreeItem(key="x:r", platform="x", root_id="r", posts=posts, images=images)])
    assert out.failures == []
    assert out.results["x:r"]["samples"] == [
        {"anchor_post_id": "r", "prompt": CORGI, "prompt_modified": False, "evidence_post_ids": ["r"],
         "quality": "benchmark", "task": "image_to_image", "feedback_post_ids": ["b"], "notes": ""},
        # the lighthouse prompt is only in an alt text: tree_to_samples requests list each image with its alt text
        {"anchor_post_id": "a", "prompt": LIGHTHOUSE, "prompt_modified": False, "evidence_post_ids": ["a"],
         "quality": "benchmark", "task": "text_to_image", "feedback_post_ids": ["d"], "notes": ""}]
    # a prompt the request does not carry at all cannot be returned
    hidden = be.tree_to_samples([TreeItem(key="x:r", platform="x", root_id="r", posts=posts,
                                          images=(iv(media, "out.png", "r"), iv(media, "out2.png", "a")))])
    assert hidden.results["x:r"]["samples"][1]["prompt"] is None
    shown, hidden_entry = oracle.log["tree_to_samples"]
    assert shown["samples"]["t1#0"]["prompt_where"] == ["post:r"] and shown["samples"]["t1#1"]["prompt_visible"]
    assert not hidden_entry["samples"]["t1#1"]["prompt_visible"]

    # a tree request that shows only the root: the reply's sample has nothing to anchor on, feedback b is unseen
    out = be.tree_to_samples([TreeItem(key="x:r", platform="x", root_id="r", posts=posts[:1], images=images[:1])])
    assert [(s["anchor_post_id"], s["prompt"], s["feedback_post_ids"]) for s in out.results["x:r"]["samples"]] == \
        [("r", CORGI, [])]

    # a split prompt is visible when every part is shown
    split = (pv("s1", "4o prompt (1/2): A snow globe containing a tiny city skyline during a blizzard, in a"),
             pv("s2", "(2/2) warm painterly style with brush strokes", parent="s1", depth=1))
    out = be.tree_to_samples([TreeItem(key="x:s1", platform="x", root_id="s1", posts=split)])
    (s,) = out.results["x:s1"]["samples"]
    assert (s["prompt"], s["prompt_modified"], s["evidence_post_ids"]) == (SPLIT, True, ["s1", "s2"])
    out = be.tree_to_samples([TreeItem(key="x:s1", platform="x", root_id="s1", posts=split[:1])])
    assert out.results["x:s1"]["samples"][0]["prompt"] is None
    assert oracle.violations == []


def test_templates_are_returned_as_shown_and_filled_only_from_what_is_shown(backend):
    be, oracle, media, _ = backend
    root = pv("k", f"ChatGPT template: {TEMPLATE} (mine is my cat Miso)", images=[PREFIX + "card.png"])
    out = be.tree_to_samples([TreeItem(key="x:k", platform="x", root_id="k", posts=(root,),
                                       images=(iv(media, "card.png", "k"),))])
    assert out.results["x:k"]["samples"][0]["prompt"] == TEMPLATE  # copied as written; filling is fill_blank's job

    def item(alt):
        return SampleItem(key="k0", platform="x", root_id="k", prompt=TEMPLATE, prompt_modified=False,
                          task="text_to_image", quality="benchmark", posts=(root,), prompt_fill_blank=TEMPLATE,
                          output_images=(iv(media, "card.png", "k", alt=alt),))

    out = be.fill_blank([item("a trading card of my cat Miso")])  # the value is shown (alt text)
    assert out.results["k0"] == {"is_template": True, "prompt": FILLED, "confident": True,
                                 "reason": "the value is named in the request"}
    out = be.fill_blank([item(None)])  # only the post names it: fill_blank requests show the sample's posts
    assert out.results["k0"] == {"is_template": True, "prompt": FILLED, "confident": True,
                                 "reason": "the value is named in the request"}
    bare = SampleItem(key="k0", platform="x", root_id="k", prompt=TEMPLATE, prompt_modified=False,
                      task="text_to_image", quality="benchmark", posts=(pv("k", f"ChatGPT template: {TEMPLATE}"),),
                      prompt_fill_blank=TEMPLATE, output_images=(iv(media, "card.png", "k"),))
    out = be.fill_blank([bare])  # nothing in the request names the value
    assert out.results["k0"]["prompt"] is None and out.results["k0"]["confident"] is False
    assert [e["visible"] for e in oracle.log["fill_blank"]] == [True, True, False]
    assert oracle.log["fill_blank"][2]["missing"] == ["[your pet]"]


def test_image_roles_map_images_by_pixels(backend):
    be, oracle, media, fake = backend
    root = pv("r", f"GPT-4o edit. Prompt: {CORGI}", images=[PREFIX + n for n in ("in.png", "out.png", "meme.png")])
    again = pv("a2", "same again", parent="r", images=[PREFIX + "out_copy.png"], depth=1)
    images = (iv(media, "in.png", "r"), iv(media, "out.png", "r", position=1), iv(media, "meme.png", "r", position=2),
              iv(media, "out_copy.png", "a2"))
    item = SampleItem(key="s", platform="x", root_id="r", prompt=CORGI, prompt_modified=False, task="image_to_image",
                      quality="benchmark", posts=(root, again), images=images)
    out = be.image_roles([item])
    rows = {r["image_id"]: (r["role"], r["is_screenshot"], r["is_duplicate"]) for r in out.results["s"]["images"]}
    assert rows == {PREFIX + "in.png": ("input", False, False), PREFIX + "out.png": ("output", False, False),
                    PREFIX + "meme.png": ("irrelevant", False, False),
                    PREFIX + "out_copy.png": ("output", False, True)}  # the same picture as out.png: a duplicate
    assert out.results["s"]["fill_blank"] is False
    (req,) = [r for r in fake.requests if r.stage == "image_roles"]
    assert req.n_images == 4 and all(u.startswith("data:image/jpeg;base64,") for _, u in req.image_parts)
    (entry,) = oracle.log["image_roles"]
    assert entry["sample"] == "t1#0" and [i["url"] for i in entry["images"]][:2] == [PREFIX + "in.png", PREFIX + "out.png"]

    # the lighthouse sample: the corgi's output is not its output, even when shown beside it
    item2 = SampleItem(key="s2", platform="x", root_id="r", prompt=LIGHTHOUSE, prompt_modified=False,
                       task="text_to_image", quality="benchmark", posts=(pv("a", "second", parent="r", depth=1),),
                       images=(iv(media, "out2.png", "a"), iv(media, "out.png", "a", position=1)))
    rows = {r["image_id"]: r["role"] for r in be.image_roles([item2]).results["s2"]["images"]}
    assert rows == {PREFIX + "out2.png": "output", PREFIX + "out.png": "irrelevant"}


def test_screenshot_boxes_are_scaled_to_the_pixels_shown(backend):
    be, oracle, media, fake = backend
    shot = iv(media, "shot.png", "q")
    out = be.transcribe_screenshot([ScreenshotItem(key="q0", image=shot)])
    # the model saw 300x200; echo scales the answer back to the stored 1200x800
    assert out.results["q0"] == {"prompt": "make my dog a knight", "boxes": [
        {"role": "input", "box": [100, 40, 300, 240]}, {"role": "output", "box": [600, 400, 1100, 780]}]}
    assert "300 x 200 pixels" in fake.requests[-1].user_text


def test_benchmark_filter_keeps_the_key_decision_only_when_the_sample_matches(backend):
    be, oracle, media, _ = backend

    def item(prompt, inputs):
        return SampleItem(key="f", platform="x", root_id="r", prompt=prompt, prompt_modified=False,
                          task="image_to_image", quality="benchmark", posts=(),
                          input_images=tuple(iv(media, n, "r") for n in inputs),
                          output_images=(iv(media, "out.png", "r", position=1),))

    assert be.benchmark_filter([item(CORGI, ["in.png"])]).results["f"]["decision"] == "benchmark"
    got = be.benchmark_filter([item("a corgi", ["meme.png"])]).results["f"]
    assert (got["decision"], got["review_targets"]) == ("manual_review", ["prompt", "input_image"])


def test_feedback_judges_only_replies_about_the_sample_shown(backend):
    be, oracle, media, _ = backend
    replies = (pv("b", "the colours are off", author="bob", parent="r", depth=1),
               pv("c", "how long did it take?", author="cy", parent="r", depth=1),
               pv("d", "love the lighthouse", author="dee", parent="a", depth=2))
    item = SampleItem(key="s", platform="x", root_id="r", prompt=CORGI, prompt_modified=False, task="image_to_image",
                      quality="benchmark", posts=(), feedback_posts=replies)
    rows = be.feedback([item]).results["s"]["feedback"]
    assert [(r["post_id"], r["polarity"], r["categories"]) for r in rows] == [
        ("b", "failure", ["detail", "color shift"]), ("c", "neutral", []),
        ("d", "neutral", [])]  # d judges the lighthouse, another sample


def test_relevance_needs_an_evidence_post_in_the_request(backend):
    be, oracle, media, _ = backend
    root, reply = pv("r", "look what I made"), pv("a", "made with GPT-4o image gen", parent="r", depth=1)
    out = be.relevance([RelevanceItem(key="x:r", platform="x", post=root),
                        RelevanceItem(key="x:m", platform="x", post=pv("m", "Flux dev is great")),
                        RelevanceItem(key="x:z", platform="x", post=pv("z", "not in the key"))])
    assert {k: v["score"] for k, v in out.results.items()} == {"x:r": 3, "x:m": 2, "x:z": 1}
    out = be.relevance([RelevanceItem(key="x:r", platform="x", post=root, context=(reply,))])
    assert out.results["x:r"]["score"] == 5  # the evidence reply is shown as context
    assert [(e["post_id"], e["score"], e["evidence_shown"]) for e in oracle.log["relevance"]][-1] == ("r", 5, ["a"])


def test_an_image_sent_as_a_url_is_a_violation(world):
    media, oracle = world
    body = {"model": "m", "messages": [
        {"role": "system", "content": "Step: screenshot"},
        {"role": "user", "content": [{"type": "text", "text": "Screenshot i1, 10 x 10 pixels."},
                                     {"type": "image_url", "image_url": {"url": "http://169.254.169.254/x.png"}}]}]}
    with FakeOpenAI(responders=oracle.responders()) as fake, httpx.Client(base_url=fake.base_url) as client:
        assert client.post("/chat/completions", json=body).status_code == 200
    assert oracle.violations == ["screenshot: image ? is sent as a URL, not a data: URL: http://169.254.169.254/x.png"]


def test_echo_never_hands_an_image_url_to_the_model_server(backend):
    """Issue 13 §1: an image with no stored file is left out of the request, never sent as its URL."""
    be, oracle, media, _ = backend
    missing = ImageView(image_id="https://img.example/not-downloaded.png", post_id="r")
    item = SampleItem(key="s", platform="x", root_id="r", prompt=CORGI, prompt_modified=False, task="image_to_image",
                      quality="benchmark", posts=(pv("r", CORGI, images=[missing.image_id]),), images=(missing,))
    be.image_roles([item])
    assert oracle.violations == []


@pytest.mark.slow
def test_sample_corpus_through_the_llm_path_against_the_oracle(tmp_path):
    """End to end: data/samples through crawl .. extract with ECHO_LLM_BASE_URL at the oracle; echo's evaluator
    scores it and every miss is explained. Figures: BENCHMARKS.md, "LLM path against the oracle: baseline"."""
    from bench.oracle_eval import ROOT, print_result, run

    corpus = ROOT / "data" / "samples"
    if not (corpus / "answers.json").is_file():
        pytest.skip("data/samples is not generated")
    pytest.importorskip("echo.stages.media")
    res = run(corpus, tmp_path)
    print_result(res, corpus)
    assert res.oracle.violations == [] and res.server_errors == []
    assert set(res.requests) == {"relevance", "tree_to_samples", "image_roles", "screenshot", "fill_blank",
                                 "benchmark_filter", "feedback"}
    r = res.report
    assert (r["version"], r["trees"], r["trees_stored"], r["samples_expected"]) == ("extractor-eval.v1", 155, 155, 130)
    assert set(r["metrics"]) == {"relevance", "samples", "prompt_exact", "task", "quality", "image_roles",
                                 "screenshots", "feedback", "feedback_polarity", "feedback_categories"}
    by_metric: dict[str, int] = {}
    for m in res.misses:
        by_metric[m.metric] = by_metric.get(m.metric, 0) + 1
        assert m.cause and "check the oracle" not in m.cause, m
    for name in ("relevance", "samples", "prompt_exact", "feedback"):
        pr = r["metrics"][name]
        assert by_metric.get(name, 0) == pr["fn"] + pr["fp"], (name, pr)  # every miss has its explanation
    pr = r["metrics"]["image_roles"]
    assert by_metric.get("image_roles", 0) == pr["fn"] + pr["fp"]
    (tmp_path / "oracle_eval.json").write_text(json.dumps({"metrics": r["metrics"],
                                                           "misses": [m.as_dict() for m in res.misses]}, default=str))
