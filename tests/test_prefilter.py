"""Pre-filter: a classifier on real post-text embeddings saves LLM calls without dropping relevant posts."""

from __future__ import annotations

import itertools
import random

import pytest

from echo.pipeline import run_stage, start_run
from echo.records import Post, Relevance

SUBJECTS = [
    "a ramen shop in the rain", "my dog as a renaissance painting", "a comic about a robot chef",
    "a vintage travel poster of Lisbon", "an infographic of the water cycle", "a menu with legible prices",
    "my family photo in Studio Ghibli style", "a pixel art castle", "a product shot of sneakers on marble",
    "a chess board made of fruit", "a cozy cabin in winter", "a children's book page about a brave snail",
]
RELEVANT = [
    "Just tried GPT-4o image generation and it made {s}. Prompt: \"{s}, highly detailed\"",
    "4o image gen is unreal, look at {s} it generated on the first try",
    "ChatGPT's new image model nailed {s}. Here is the prompt I used",
    "Asked gpt-4o to create {s} and the text rendering is finally correct",
    "The new ChatGPT image generator turned my photo into {s}, results below",
]
IRRELEVANT = [
    "GPT-4o helped me refactor my Python code today, it wrote tests for {c}",
    "Is 4o better than Claude at writing essays about {c}? Asking for a friend",
    "ChatGPT plus pricing changed again, now the API costs more for {c}",
    "My Honda's 4o engine code came back, mechanic says it's {c}",
    "Gemini summarized my meeting notes about {c} pretty well",
]
TOPICS = ["linked lists", "the french revolution", "tax returns", "a sensor fault", "quarterly budgets",
          "database indexes", "climate policy", "sourdough baking", "a job interview", "marathon training",
          "my thesis", "kubernetes"]


def _posts(seed: int):
    rel = [t.format(s=s) for t, s in itertools.product(RELEVANT, SUBJECTS)]
    irr = [t.format(c=c) for t, c in itertools.product(IRRELEVANT, TOPICS)]
    rng = random.Random(seed)
    rng.shuffle(rel)
    rng.shuffle(irr)
    return rel, irr


def _seed(store, rel, irr, n_labelled: int):
    """First n_labelled of each class get LLM labels; the rest only a passed cheap filter (pending)."""
    truth = {}
    for cls, texts in (("rel", rel), ("irr", irr)):
        for i, text in enumerate(texts):
            pid = f"{cls}{i}"
            truth[pid] = cls == "rel"
            store.upsert("posts", [Post(platform="bluesky", post_id=pid, root_id=pid, text=text)])
            store.upsert("relevance", [Relevance(platform="bluesky", post_id=pid, judge="cheap", passed=True,
                                                 model="rules:1", prompt_version="1")])
            if i < n_labelled:
                store.upsert("relevance", [Relevance(platform="bluesky", post_id=pid, judge="llm", passed=cls == "rel",
                                                     score=5 if cls == "rel" else 1, model="m", prompt_version="1")])
    return truth


@pytest.fixture(scope="module")
def embedder():
    from echo.dedup.embed import Embedder

    return Embedder()


def _run(store, config, embedder):
    """A refresh's two pre-filter steps: fit on the labels (after relevance), then decide (before the next one).
    Returns the stats of both, fit's prefixed 'fit_'."""
    from echo.stages import prefilter, prefilter_fit

    ctx = start_run(config, store)
    ctx.resources.use_embedder(embedder)
    fit = run_stage(ctx, prefilter_fit.run)
    stats = run_stage(ctx, prefilter.run)
    for k, v in fit.items():
        stats[f"fit_{k}"] = v
    return stats


def test_prefilter_saves_calls_without_dropping_relevant_posts(store, config, embedder):
    rel, irr = _posts(seed=1)
    truth = _seed(store, rel, irr, n_labelled=40)  # 80 labels, 20 + 20 pending
    config.filter.prefilter_min_labels = 60
    config.filter.prefilter_confidence = 0.9
    stats = _run(store, config, embedder)
    rows = store.query("SELECT post_id, passed, model, reason, score FROM relevance WHERE judge = 'prefilter'")
    print(dict(stats))
    assert stats["fit_labels"] == 80 and stats["fit_fitted"] == 1 and stats["candidates"] == 40
    assert stats["calls_saved"] == len(rows) > 0
    assert stats["fit_holdout_keep_recall"] >= 0.98 and 0 < stats["fit_holdout_decided_share"] <= 1
    assert all(r["model"].startswith("prefilter:logreg:") and r["reason"].startswith("classifier p=")
               and r["score"] is None for r in rows)
    rejected_relevant = [r["post_id"] for r in rows if not r["passed"] and truth[r["post_id"]]]
    assert rejected_relevant == []  # nothing the LLM path would keep is dropped
    wrong_passes = [r["post_id"] for r in rows if r["passed"] and not truth[r["post_id"]]]
    assert wrong_passes == []
    # second run: decided posts are no longer candidates and nothing is rewritten
    again = _run(store, config, embedder)
    assert again["candidates"] == 40 - len(rows) and again["calls_saved"] == 0
    assert again["fit_reused"] == 1 and again["fit_label_drift"] == 0 and "fit_fitted" not in again
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'prefilter'") == len(rows)
    assert store.scalar("SELECT count(DISTINCT run_id) FROM relevance WHERE judge = 'prefilter'") == 1


def test_prefilter_thresholds(store, config, embedder):
    rel, irr = _posts(seed=2)
    _seed(store, rel, irr, n_labelled=40)
    config.filter.prefilter_min_labels = 81  # one more than exist: keeps waiting
    waiting = _run(store, config, embedder)
    assert waiting["fit_waiting_for_labels"] == 1 and waiting["waiting_for_model"] == 1
    assert store.scalar("SELECT count(*) FROM relevance WHERE judge = 'prefilter'") == 0
    config.filter.prefilter_min_labels = 80
    config.filter.prefilter_confidence = 1.0  # never sure: everything goes to the LLM
    stats = _run(store, config, embedder)
    assert stats["calls_saved"] == 0 and stats["deferred_to_llm"] == 40
    config.filter.prefilter_confidence = 0.6
    loose = _run(store, config, embedder)
    assert loose["calls_saved"] > 0 and loose["deferred_to_llm"] < 40
    config.filter.prefilter_enabled = False
    off = _run(store, config, embedder)
    assert off["disabled"] == 1 and off["fit_disabled"] == 1
    # one fit served all three thresholds: confidence is a decision, not part of the fit
    assert store.scalar("SELECT count(*) FROM prefilter_models") == 1


def test_prefilter_makes_no_rejections_when_holdout_recall_is_too_low(store, config, embedder):
    rel, irr = _posts(seed=3)
    _seed(store, rel, irr, n_labelled=40)
    config.filter.prefilter_min_labels = 60
    config.filter.prefilter_confidence = 0.6
    config.filter.prefilter_min_recall = 1.01  # unreachable: rejections are switched off
    stats = _run(store, config, embedder)
    assert stats["rejections_allowed"] == 0 and stats["rejected"] == 0 and stats["passed"] > 0
    config.filter.prefilter_min_recall = 0.5  # the same stored model, a floor its checks pass
    assert _run(store, config, embedder)["rejections_allowed"] == 1


def test_cap_labels_keeps_the_rarer_class_and_a_stable_choice():
    import numpy as np

    from echo.filters.relevance_classifier import cap_labels, label_rank

    keys = [f"x:{i}" for i in range(100)]
    y = np.array([1 if i < 10 else 0 for i in range(100)])
    chosen = cap_labels(keys, y, 30)
    assert len(chosen) == 30 and list(chosen) == sorted(chosen)
    assert int(y[chosen].sum()) == 10  # all ten of the rare class, twenty of the other
    negatives = sorted((i for i in range(10, 100)), key=lambda i: label_rank(keys[i]))[:20]
    assert sorted(set(chosen) - set(range(10))) == sorted(negatives)
    # under the cap nothing is dropped; a few new labels change the choice by at most a few
    assert list(cap_labels(keys[:20], y[:20], 30)) == list(range(20))
    grown_keys, grown_y = keys + [f"x:{i}" for i in range(100, 105)], np.concatenate([y, np.zeros(5, int)])
    again = cap_labels(grown_keys, grown_y, 30)
    assert len(set(chosen) - set(again)) <= 5
    balanced = cap_labels(keys, np.array([i % 2 for i in range(100)]), 30)
    assert int(np.array([i % 2 for i in range(100)])[balanced].sum()) == 15


def test_prefilter_trains_on_at_most_max_labels(store, config, embedder):
    rel, irr = _posts(seed=4)
    _seed(store, rel, irr, n_labelled=40)  # 80 labels
    config.filter.prefilter_min_labels = 60
    config.filter.prefilter_max_labels = 50
    config.filter.prefilter_confidence = 0.9
    stats = _run(store, config, embedder)
    assert stats["fit_labels"] == 80 and stats["fit_labels_used"] == 50
    # only the chosen labels and the candidates were embedded
    assert stats["fit_embedded"] + stats["embedded"] == 50 + 40
    rows = store.query("SELECT post_id, passed FROM relevance WHERE judge = 'prefilter'")
    assert rows and not [r for r in rows if not r["passed"] and r["post_id"].startswith("rel")]


def _label(store, pid: str, passed: bool) -> None:
    store.upsert("relevance", [Relevance(platform="bluesky", post_id=pid, judge="llm", passed=passed,
                                         score=5 if passed else 1, model="m", prompt_version="1")])


def test_the_stored_model_is_refit_only_when_its_labels_moved_more_than_the_refit_share(store, config, embedder):
    rel, irr = _posts(seed=5)
    _seed(store, rel, irr, n_labelled=40)  # 80 labels
    config.filter.prefilter_min_labels = 60
    config.filter.prefilter_refit_share = 0.1
    first = _run(store, config, embedder)
    assert first["fit_fitted"] == 1
    row = store.query("SELECT model_id, label_keys FROM prefilter_models")[0]
    assert len(row["label_keys"]) == 80 and "bluesky:rel0=1" in row["label_keys"]
    for i in range(40, 47):  # 7 new labels: 7 / 87 = 0.08 <= 0.1, the stored model stays
        _label(store, f"rel{i}", True)
    kept = _run(store, config, embedder)
    assert kept["fit_reused"] == 1 and kept["fit_label_drift"] == round(7 / 87, 4)
    assert kept["fit_embedded"] == 0  # nothing was embedded for a fit that did not happen
    _label(store, "irr0", True)  # a label that flips counts twice (gone as 0, new as 1)
    _label(store, "irr1", True)
    refit = _run(store, config, embedder)
    assert refit["fit_fitted"] == 1 and refit["fit_label_drift"] == round(11 / 87, 4)
    rows = store.query("SELECT model_id, run_id FROM prefilter_models ORDER BY created_at")
    assert len(rows) == 2 and rows[0]["model_id"] == row["model_id"] != rows[1]["model_id"]
    assert "bluesky:irr0=1" in store.query("SELECT label_keys FROM prefilter_models WHERE model_id = ?",
                                           [rows[1]["model_id"]])[0]["label_keys"]


def test_a_stored_model_gives_the_probabilities_of_the_fitted_classifier():
    import numpy as np

    from echo.filters.relevance_classifier import _classifier, from_row, label_keys, model_row, train

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)
    keys = label_keys([f"x:{i}" for i in range(120)], y)
    model = train(x, y, keys, confidence=0.9, min_recall=0.5, embed_model="m")
    reference = _classifier().fit(x, y).predict_proba(x)[:, 1]
    assert np.allclose(model.probabilities(x), reference, atol=1e-12)
    stored = from_row(model_row(model, keys, "m", "run-1"), confidence=0.9, min_recall=0.5)
    assert stored.model_id == model.model_id and stored.allow_reject == model.allow_reject
    assert np.array_equal(stored.decide(x)[0], model.decide(x)[0])
    assert from_row(model_row(model, keys, "m", None), confidence=0.9, min_recall=1.01).allow_reject is False
