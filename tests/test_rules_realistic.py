"""The rule-based backend on the realistic corpus (tests/data/realistic: real GPT-4o prompts in generated post trees):
crawl (import) .. dedup in a temporary database, scored against answers.json, with floors on the TEST split.

The rules were developed on the dev split only; the test split's phrasings (commentary, feedback, chatter, steering)
come from the other half of the generator's phrase pools. The floors sit a little below the test figures measured
when the rules were last changed (BENCHMARKS.md, "Extraction on real prompts"); a drop below one is a regression.
The run is deterministic (no sampling; dedup's k-NN graph is seeded).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echo.evaluate import load_answers, score_corpus

ROOT = Path(__file__).resolve().parent.parent
REALISTIC = ROOT / "tests" / "data" / "realistic"

# metric -> floor on the test split (measured: see BENCHMARKS.md)
TEST_FLOORS = {
    "prompt_precision": 0.83,
    "prompt_recall": 0.73,
    "relevance_precision": 0.97,
    "relevance_recall": 0.84,
    "task_accuracy": 0.88,
    "feedback_judged_share": 0.75,
    "feedback_polarity_accuracy": 0.95,
    "duplicate_groups_recovered_share": 0.25,
}
MAX_OFFTOPIC_SAMPLES = 2  # over both splits


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from echo.commands.evaluate import run_corpus
    from echo.config import load_config

    answers = load_answers(REALISTIC / "answers.json")
    cfg = load_config(ROOT / "echo.toml", env={})
    store = run_corpus(cfg, REALISTIC.resolve(), answers, "rules", tmp_path_factory.mktemp("realistic"))
    try:
        yield score_corpus(store, answers, threshold=cfg.filter.relevance_threshold, backend="rules")
    finally:
        store.close()


def figures(m: dict) -> dict[str, float]:
    return {
        "prompt_precision": m["prompts"]["precision"], "prompt_recall": m["prompts"]["recall"],
        "relevance_precision": m["relevance"]["precision"], "relevance_recall": m["relevance"]["recall"],
        "task_accuracy": m["task"]["accuracy"], "feedback_judged_share": m["feedback"]["judged_share"],
        "feedback_polarity_accuracy": m["feedback"]["polarity_accuracy"],
        "duplicate_groups_recovered_share": m["duplicates"]["recovered_share"],
    }


@pytest.mark.slow
def test_the_rules_stay_above_the_floors_on_the_test_split(report):
    test = report["per_split"]["test"]
    got = figures(test)
    below = {k: got[k] for k, floor in TEST_FLOORS.items() if got[k] < floor}
    assert not below, (f"below the floors {TEST_FLOORS}: {below}\n"
                       f"examples: {json.dumps(report['examples'], indent=1, ensure_ascii=False)[:3000]}")
    assert report["overall"]["offtopic_samples"] <= MAX_OFFTOPIC_SAMPLES
    assert report["extractors"] and all(e.startswith("rules ") for e in report["extractors"])


@pytest.mark.slow
def test_dev_and_test_are_scored_apart(report):
    key = json.loads((REALISTIC / "answers.json").read_text(encoding="utf-8"))
    assert {k: v["trees"] for k, v in report["per_split"].items()} == key["counts"]["trees_per_split"]
    assert sum(v["prompts"]["tp"] for v in report["per_split"].values()) == report["overall"]["prompts"]["tp"]
