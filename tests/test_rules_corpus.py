"""End to end on the bundled sample corpus with the offline rule-based backend (the embedded default):
crawl (import) -> filter -> relevance -> media -> extract, then precision/recall against data/samples/answers.json.

The floors sit a little below the values measured when the rules were tuned (README, "Rule-based backend");
a drop below one is a regression. The rules contain nothing specific to this corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echo import pipeline
from echo import evaluate as ev
from echo.llm.rules import RULES_VERSION
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent

STAGES = ["crawl", "filter", "relevance", "media", "extract"]

# metric -> (precision floor, recall floor)
FLOORS = {
    "relevance": (0.97, 0.90),
    "samples": (0.97, 0.88),
    "prompt_exact": (0.93, 0.80),
    "task": (0.90, 0.80),
    "quality": (0.95, 0.95),
    "image_roles": (0.95, 0.95),
    "screenshots": (0.90, 0.90),
    "feedback": (0.97, 0.87),
    "feedback_polarity": (0.97, 0.87),
    "feedback_categories": (0.90, 0.85),
}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    answers_path = ROOT / "data" / "samples" / "answers.json"
    if not answers_path.is_file():
        pytest.skip("data/samples/answers.json is absent: run `python scripts/make_samples.py`")
    from echo.config import load_config

    tmp = tmp_path_factory.mktemp("rules_corpus")
    cfg = load_config(ROOT / "echo.toml", env={})
    cfg.base_dir = str(tmp)
    cfg.paths.db = str(tmp / "echo.duckdb")
    cfg.paths.media_dir = str(tmp / "media")
    cfg.paths.reports_dir = str(tmp / "reports")
    cfg.paths.samples_dir = str(ROOT / "data" / "samples")
    assert not (cfg.llm.base_url or "").strip(), "the embedded default must be the offline rule-based backend"
    for s in cfg.sources:
        s.paths = [str(ROOT / p) for p in s.paths]
    cfg.media.url_map = {k: str(ROOT / v) + "/" for k, v in cfg.media.url_map.items()}
    store = Store(cfg.path("db"))
    ctx = pipeline.refresh(cfg, store, only=STAGES)
    report = ev.evaluate(store, ev.load_answers(answers_path), threshold=cfg.filter.relevance_threshold)
    ev.write_report(report, tmp / "reports" / "extractor_eval.json")
    yield cfg, store, ctx, report
    store.close()


@pytest.mark.slow
def test_precision_and_recall_stay_above_the_floors(corpus_run):
    _cfg, _store, _ctx, report = corpus_run
    m = report["metrics"]
    below = {name: (m[name]["precision"], m[name]["recall"]) for name, (p, r) in FLOORS.items()
             if m[name]["precision"] < p or m[name]["recall"] < r}
    assert not below, f"below the floors {FLOORS}: {below}\nexamples: {json.dumps(report['examples'], indent=1)[:4000]}"
    assert report["extractors"] and all(e.startswith("rules ") for e in report["extractors"])


@pytest.mark.slow
def test_every_output_is_labelled_rule_based_and_valid(corpus_run):
    _cfg, store, _ctx, _report = corpus_run
    assert store.scalar("SELECT count(*) FROM samples WHERE extractor <> 'rules'") == 0
    model = f"rules:{RULES_VERSION}"
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'llm' AND model <> ?", [model]) == 0
    assert store.scalar("SELECT count(*) FROM feedback WHERE model <> ?", [model]) == 0
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'cheap' AND model <> 'rules:cheap.v1'") == 0
    # manual_review always says what to check; benchmark samples have a prompt and an output
    assert store.scalar("SELECT count(*) FROM samples WHERE benchmark_decision = 'manual_review' "
                        "AND len(coalesce(review_targets, [])) = 0") == 0
    assert store.scalar("SELECT count(*) FROM samples WHERE benchmark_decision = 'benchmark' "
                        "AND (prompt IS NULL OR len(coalesce(output_media, [])) = 0)") == 0
    assert store.scalar("SELECT count(*) FROM llm_failures") == 0


@pytest.mark.slow
def test_second_run_changes_nothing(corpus_run):
    cfg, store, _ctx, _report = corpus_run
    skip = {"runs", "llm_usage"}
    before = {k: v for k, v in store.counts().items() if k not in skip}
    ctx = pipeline.refresh(cfg, store, only=["filter", "relevance", "extract"])
    assert {k: v for k, v in store.counts().items() if k not in skip} == before
    assert ctx.stage_stats("filter")["judged"] == 0
    assert ctx.stage_stats("relevance")["scored"] == 0
    assert ctx.stage_stats("extract")["trees_extracted"] == 0
