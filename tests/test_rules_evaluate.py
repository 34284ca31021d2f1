"""The extractor evaluation: matching, normalization and the numbers it reports, on a crafted store and key."""

from __future__ import annotations

import json

import pytest

from echo.cli import main
from echo import evaluate as ev
from echo.records import Feedback, ImageRole, Post, Relevance, Sample

U = "https://echo-samples.invalid/media/"


def _answers():
    return {"format": "test", "trees": [
        {"platform": "x", "root_post_id": "1", "relevant": True, "samples": [{
            "prompt": "A fox &amp; a hare, watercolor", "task": "text_to_image", "quality": "benchmark",
            "input_images": [], "output_images": [U + "fox.png"], "is_screenshot": False,
            "evidence_post_ids": ["1"], "anchor_post_id": "1",
            "feedback": [{"post_id": "2", "polarity": "success", "categories": ["style"]},
                         {"post_id": "3", "polarity": "failure", "categories": ["text rendering"]}]}]},
        {"platform": "x", "root_post_id": "10", "relevant": True, "samples": [{
            "prompt": "Turn this photo into a figurine", "task": "image_to_image", "quality": "benchmark",
            "input_images": [U + "in.jpg"], "output_images": [U + "out.png"], "is_screenshot": False,
            "evidence_post_ids": ["10"], "anchor_post_id": "10", "feedback": []}]},
        {"platform": "x", "root_post_id": "20", "relevant": False, "samples": []},
        {"platform": "x", "root_post_id": "30", "relevant": True, "samples": [{
            "prompt": "a lighthouse", "task": "text_to_image", "quality": "benchmark", "input_images": [],
            "output_images": [U + "l.png"], "is_screenshot": False, "evidence_post_ids": ["30"], "feedback": []}]},
    ]}


def _fill(store):
    store.upsert("posts", [Post(platform="x", post_id=i, root_id=r, text="t") for i, r in
                           [("1", "1"), ("2", "1"), ("3", "1"), ("10", "10"), ("20", "20"), ("30", "30")]])
    rel = [("1", 5), ("10", 4), ("20", 4), ("30", 2)]
    store.upsert("relevance", [Relevance(platform="x", post_id=p, judge="llm", score=s, passed=s >= 4, model="m",
                                         prompt_version="v") for p, s in rel])
    base = dict(platform="x", prompt_modified=False, extractor="rules", extractor_version="v1")
    store.upsert("samples", [
        Sample(sample_id="a", root_id="1", anchor_post_id="1", prompt="a fox & a hare, watercolor.", task="text_to_image",
               quality="benchmark", output_media=[U + "fox.png?width=640&amp;s=1"], evidence_post_ids=["1"], **base),
        Sample(sample_id="b", root_id="10", anchor_post_id="10", prompt="Turn this photo into a figurine",
               task="text_to_image", quality="benchmark", output_media=[U + "in.jpg", U + "out.png"],
               evidence_post_ids=["10"], **base),
        Sample(sample_id="c", root_id="20", anchor_post_id="20", prompt=None, task=None, quality="trash",
               evidence_post_ids=["20"], **base),
    ])
    store.upsert("image_roles", [ImageRole(sample_id="a", url=U + "fox.png", role="output", model="m", prompt_version="v")])
    store.upsert("feedback", [
        Feedback(platform="x", post_id="2", sample_id="a", polarity="success", categories=["style", "detail"],
                 model="m", prompt_version="v"),
        Feedback(platform="x", post_id="3", sample_id="a", polarity="success", categories=["text rendering"],
                 model="m", prompt_version="v"),
    ])


def test_evaluation_numbers(store):
    _fill(store)
    rep = ev.evaluate(store, _answers(), threshold=4)
    m = rep["metrics"]
    # relevance: 1 and 10 right, 20 a false positive, 30 a miss
    assert (m["relevance"]["tp"], m["relevance"]["fp"], m["relevance"]["fn"]) == (2, 1, 1)
    # samples: a and b match, c is extra (irrelevant tree), the lighthouse is missed
    assert (m["samples"]["tp"], m["samples"]["fp"], m["samples"]["fn"]) == (2, 1, 1)
    # prompts compare after normalization (HTML escapes, case, final period)
    assert (m["prompt_exact"]["tp"], m["prompt_exact"]["fp"], m["prompt_exact"]["fn"]) == (2, 0, 1)
    assert m["task"]["accuracy"] == 0.5 and m["task"]["per_label"]["image_to_image"]["recall"] == 0.0
    assert m["quality"]["accuracy"] == 1.0
    # roles: query strings ignored; the input taken for an output is both a miss and a false positive
    assert (m["image_roles"]["tp"], m["image_roles"]["fp"], m["image_roles"]["fn"]) == (2, 1, 1)
    assert (m["feedback"]["tp"], m["feedback_polarity"]["tp"], m["feedback_polarity"]["fp"]) == (2, 1, 1)
    assert (m["feedback_categories"]["tp"], m["feedback_categories"]["fp"], m["feedback_categories"]["fn"]) == (2, 1, 0)
    assert m["samples"]["precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert rep["examples"]["task_wrong"][0]["expected"] == "image_to_image"


def test_answer_key_errors(tmp_path):
    with pytest.raises(ev.AnswerKeyError, match="not found"):
        ev.load_answers(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"trees": [{"platform": "x"}]}')
    with pytest.raises(ev.AnswerKeyError, match="lacks"):
        ev.load_answers(tmp_path / "bad.json")


def test_cli_writes_the_report(config, tmp_path, capsys):
    from echo.store import Store

    with Store(config.path("db")) as store:
        _fill(store)
    key = tmp_path / "answers.json"
    key.write_text(json.dumps(_answers()))
    toml = tmp_path / "echo.toml"
    toml.write_text(f'[paths]\ndb = "{config.path("db")}"\nreports_dir = "{tmp_path / "reports"}"\n')
    assert main(["--config", str(toml), "evaluate-extractor", "--answers", str(key)]) == 0
    out = capsys.readouterr().out
    assert "relevance" in out and "feedback_categories" in out
    report = json.loads((tmp_path / "reports" / "extractor_eval.json").read_text())
    assert report["metrics"]["samples"]["tp"] == 2 and report["answers"] == str(key)
    assert main(["--config", str(toml), "evaluate-extractor", "--answers", str(tmp_path / "nope.json")]) == 2
