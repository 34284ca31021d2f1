"""pipeline.refresh drives the LLM stages: with a base URL the OpenAI-compatible backend, without it the rules."""

from __future__ import annotations

import json

import pytest

from echo import pipeline
from fake_openai import FakeOpenAI
from llm_helpers import add, image, post


def _corpus(store, config, tmp_path):
    media = tmp_path / "media"
    config.paths.media_dir = str(media)
    u1, m1 = image(media, "out1", (200, 10, 10))
    u2, m2 = image(media, "out2", (10, 10, 200))
    posts = [post("1", "GPT-4o image generation is wild. Prompt: a corgi astronaut on the moon, watercolor"),
             post("2", "second try with the same idea", root="1", parent="1", minutes=1),
             post("3", "wow the fur is perfect", author="bob", root="1", parent="1", minutes=2),
             post("4", "ChatGPT image of my cat: Prompt: a cat as a [job] in a comic style", author="kim", minutes=3),
             post("9", "My Audi A4o broke down again", author="dave", minutes=5)]
    add(store, posts, [m1, m2], [("1", u1, 0, None), ("2", u2, 0, None), ("4", u2, 0, None)], cheap_pass=False)


def test_refresh_runs_filter_relevance_extract_with_the_llm(store, config, tmp_path):
    _corpus(store, config, tmp_path)
    with FakeOpenAI() as fake:
        config.llm.base_url = fake.base_url
        ctx = pipeline.refresh(config, store, only=["filter", "relevance", "extract"])
        assert ctx.stats["relevance"]["scored"] == 2  # roots 1 and 4 passed the cheap filter; 9 did not
        samples = {s.root_id: s for s in store.records("samples")}
        assert set(samples) == {"1", "4"}
        assert samples["1"].prompt == "a corgi astronaut on the moon, watercolor"
        assert samples["1"].benchmark_decision == "benchmark" and samples["1"].extractor == "llm:gpt-4o-mini"
        # a fill-in-the-blank prompt the model cannot fill: template kept, prompt left empty, sent to review
        assert samples["4"].prompt_fill_blank == "a cat as a [job] in a comic style" and samples["4"].prompt is None
        assert samples["4"].benchmark_decision == "manual_review" and "prompt" in samples["4"].review_targets
        assert {r.role for r in store.records("image_roles")} == {"output"}
        assert [(f.post_id, f.polarity) for f in store.records("feedback")] == [("3", "success")]
        run = store.query("SELECT stage_stats FROM runs WHERE run_id = ?", [ctx.run_id])[0]
        assert '"trees_extracted": 2' in run["stage_stats"]
        n = fake.count()
        pipeline.refresh(config, store, only=["filter", "relevance", "extract"])
        assert fake.count() == n


def test_refresh_on_the_sample_corpus_with_the_llm(config, tmp_path):
    """Acceptance: crawl (import) .. extract over data/samples with the fake server scripted like a model."""
    from echo.store import Store

    if not any((config.resolve(config.paths.samples_dir)).glob("*/*.json*")):
        pytest.skip("data/samples is not generated yet (scripts/make_samples.py)")
    pytest.importorskip("echo.stages.media")
    with Store(tmp_path / "echo.duckdb") as store, FakeOpenAI() as fake:
        config.llm.base_url = fake.base_url
        ctx = pipeline.refresh(config, store, only=["crawl", "filter", "relevance", "media", "extract"])
        assert store.count("samples") > 0 and store.count("image_roles") > 0 and store.count("feedback") > 0
        ex = ctx.stats["extract"]
        assert ex["trees_extracted"] > 0
        assert ex["calls_per_sample"] == round(ex["llm_calls"] / ex["samples"], 2) >= 1
        assert ex["tokens_per_sample"] == round((ex["tokens_in"] + ex["tokens_out"]) / ex["samples"], 1) > 0
        n = fake.count()
        pipeline.refresh(config, store, only=["crawl", "filter", "relevance", "media", "extract"])
        assert fake.count() == n


def test_chat_screenshot_is_transcribed_by_the_vision_model(store, config, tmp_path):
    media = tmp_path / "media"
    config.paths.media_dir = str(media)
    u, m = image(media, "shot", (240, 240, 240), size=(2048, 1024))
    add(store, [post("1", "ChatGPT 4o image gen did this, see screenshot")], [m], [("1", u, 0, "screenshot of chat")])

    def roles(req):
        return {"images": [{"image_id": "i1", "role": "output", "is_screenshot": True, "is_duplicate": False,
                            "reason": "chat window"}], "fill_blank": False}

    def shot(req):
        assert "1024 x 512" in req.user_text  # the size the model sees after downscaling
        return {"prompt": "make my dog a knight", "boxes": [{"role": "input", "box": [10, 20, 110, 220]},
                                                            {"role": "output", "box": [500, 20, 900, 400]}]}

    with FakeOpenAI(responders={"image_roles": roles, "screenshot": shot}) as fake:
        config.llm.base_url = fake.base_url
        pipeline.refresh(config, store, only=["relevance", "extract"])
        (shot_req,) = [r for r in fake.requests if r.stage == "screenshot"]
        assert shot_req.n_images == 1
    (s,) = store.records("samples")
    assert s.is_screenshot and s.prompt == "make my dog a knight" and s.prompt_modified is False
    assert json.loads(s.input_boxes) == [{"url": u, "role": "input", "box": [20, 40, 220, 440]},
                             {"url": u, "role": "output", "box": [1000, 40, 1800, 800]}]
    assert "screenshot" in s.notes


def test_without_a_vision_model_screenshots_use_ocr(store, config, tmp_path, monkeypatch):
    from echo.media import ocr

    media = tmp_path / "media"
    config.paths.media_dir = str(media)
    u, m = image(media, "shot", (240, 240, 240), size=(300, 600))
    add(store, [post("1", "ChatGPT 4o image gen did this, see screenshot")], [m], [("1", u, 0, "screenshot of chat")])
    calls = []

    def transcribe_screenshot(path):
        calls.append(path)
        return {"prompt": "a knight dog", "boxes": [{"role": "output", "box": [1.2, 2, 100, 200]}], "engine": "fake"}

    monkeypatch.setattr(ocr, "transcribe_screenshot", transcribe_screenshot)

    def roles(req):
        assert req.n_images == 0  # no pixels without a vision model
        return {"images": [{"image_id": "i1", "role": "output", "is_screenshot": True, "is_duplicate": False,
                            "reason": "alt text says screenshot"}], "fill_blank": False}

    with FakeOpenAI(responders={"image_roles": roles}) as fake:
        config.llm.base_url = fake.base_url
        config.llm.vision_model = ""
        pipeline.refresh(config, store, only=["relevance", "extract"])
        assert fake.count("screenshot") == 0
    (s,) = store.records("samples")
    assert calls == [str(media / "shot.png")]
    assert s.prompt == "a knight dog" and json.loads(s.input_boxes) == [{"url": u, "role": "output", "box": [1, 2, 100, 200]}]
