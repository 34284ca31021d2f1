"""echo-bench evaluate: the corpus scores (prompts by token F1, relevance, feedback, duplicate groups, off-topic
samples) on a crafted store, the CLI's two modes, and an end-to-end run on the realistic corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echo import evaluate as ev
from echo.cli import main
from echo.records import Feedback, Post, Relevance, Sample

ROOT = Path(__file__).resolve().parent.parent
REALISTIC = ROOT / "tests" / "data" / "realistic"
U = "https://echo-samples.invalid/media/"


def _sample(prompt, fill=None, root="1", feedback=(), group=None):
    return {"prompt": prompt, "prompt_fill_blank": fill, "task": "text_to_image", "quality": "benchmark",
            "input_images": [], "output_images": [U + f"{root}.png"], "evidence_post_ids": [root],
            "anchor_post_id": root, "duplicate_group": group, "feedback": list(feedback)}


def _answers():
    def tree(root, pattern, split, relevant, samples, post_ids=None):
        return {"tree_id": f"t{root}", "platform": "x", "root_post_id": root, "relevant": relevant, "pattern": pattern,
                "split": split, "post_ids": post_ids or [root], "samples": samples}

    return {"format": "test", "trees": [
        tree("1", "root_commentary", "dev", True, [_sample(
            "A fox and a hare, watercolor, soft light", group="g1",
            feedback=[{"post_id": "2", "polarity": "failure", "categories": ["color shift"]},
                      {"post_id": "3", "polarity": "success", "categories": []}])], ["1", "2", "3", "4"]),
        tree("10", "repost", "dev", True, [_sample("A fox and a hare, watercolour, soft light", root="10", group="g1")]),
        tree("20", "template_unfilled", "dev", True, [_sample(None, "A [animal] in the rain", root="20")]),
        tree("30", "off_topic", "test", False, []),
        tree("40", "original_language", "test", True, [_sample("桜の下で本を読む柴犬、水彩画風", root="40")]),
    ]}


def _fill(store):
    posts = [("1", "1"), ("2", "1"), ("3", "1"), ("4", "1"), ("10", "10"), ("20", "20"), ("30", "30"), ("40", "40")]
    store.upsert("posts", [Post(platform="x", post_id=i, root_id=r, text="t") for i, r in posts])
    store.upsert("relevance", [Relevance(platform="x", post_id=p, judge="llm", score=s, passed=s >= 4, model="m",
                                         prompt_version="v") for p, s in [("1", 5), ("10", 5), ("20", 4), ("30", 4),
                                                                          ("40", 2)]])
    base = dict(platform="x", prompt_modified=False, extractor="rules", extractor_version="v1", quality="benchmark")

    def sample(sid, root, prompt, fill=None, task="text_to_image"):
        return Sample(sample_id=sid, root_id=root, anchor_post_id=root, prompt=prompt, prompt_fill_blank=fill, task=task,
                      output_media=[U + f"{root}.png"], evidence_post_ids=[root], **base)

    store.upsert("samples", [
        sample("a", "1", "a fox and a hare watercolor soft light."),
        sample("b", "10", "A fox and a hare, watercolour, soft light"),
        sample("c", "20", None, "A [animal] in the rain"),
        sample("d", "30", "A4o Avant"),
        sample("e", "40", "桜の下で本を読む秋田犬", task="image_to_image"),
    ])
    store.upsert("feedback", [
        Feedback(platform="x", post_id=p, sample_id="a", polarity=pol, categories=[], model="m", prompt_version="v")
        for p, pol in [("2", "failure"), ("3", "neutral"), ("4", "success")]])
    store.upsert("duplicates", [
        {"sample_id": s, "group_id": g, "canonical_sample_id": c, "is_canonical": s == c, "group_size": n}
        for s, g, c, n in [("a", "gx", "a", 2), ("b", "gx", "a", 2), ("c", "gy", "c", 1), ("d", "gz", "d", 1),
                           ("e", "gw", "e", 1)]])


def test_corpus_scores_on_a_crafted_store(store):
    _fill(store)
    rep = ev.score_corpus(store, _answers(), threshold=4)
    m = rep["overall"]
    # a, b (F1 1.0 after case/punctuation) and the template c (through prompt_fill_blank) are found; the Chinese
    # prompt e differs in 2 of 14 characters (token F1 0.72): a miss and a false positive; d is off-topic
    assert (m["prompts"]["tp"], m["prompts"]["fp"], m["prompts"]["fn"]) == (3, 2, 1)
    assert m["prompts"]["precision"] == 0.6 and m["prompts"]["recall"] == 0.75
    assert (m["relevance"]["tp"], m["relevance"]["fp"], m["relevance"]["fn"]) == (3, 1, 1)
    assert m["relevance"]["accuracy"] == 0.6
    assert m["task"] == {"accuracy": 0.75, "n": 4}  # e is matched through its evidence post, with the wrong task
    assert m["offtopic_samples"] == 1 and rep["per_pattern"]["off_topic"]["offtopic_samples"] == 1
    # feedback: both true replies have a row (3 only a neutral one); polarity right for 2; 4 is not feedback
    assert m["feedback"]["judged_share"] == 1.0 and m["feedback"]["polarity_accuracy"] == 0.5
    assert (m["feedback"]["tp"], m["feedback"]["fp"], m["feedback"]["fn"]) == (1, 1, 1)
    assert m["duplicates"]["recovered"] == 1 and m["duplicates"]["groups"] == 1
    assert m["duplicates"]["pairwise"]["tp"] == 1 and m["duplicates"]["pairwise"]["fp"] == 0
    assert rep["per_split"]["dev"]["trees"] == 3 and rep["per_split"]["test"]["trees"] == 2
    assert rep["per_split"]["test"]["prompts"]["fn"] == 1 and rep["per_split"]["dev"]["prompts"]["fn"] == 0
    assert rep["backend"] == "rules" and rep["examples"]["prompt_missed"][0]["best_token_f1"] == 0.72
    assert "overall" in ev.corpus_table(rep) and "template_unfilled" in ev.corpus_table(rep)


def test_group_recovery_needs_all_members_in_one_group_without_outsiders():
    true_groups = {"g1": ["e1", "e2"], "g2": ["e3", "e4"], "g3": ["e5", "e6"]}
    matched = {"e1": "a", "e2": "b", "e3": "c", "e4": "d", "e5": "e", "e7": "x"}  # e6 has no matched sample
    pred_group = {"a": "P", "b": "P", "c": "Q", "d": "R", "e": "S", "x": "S"}
    members = {"P": ["a", "b"], "Q": ["c"], "R": ["d"], "S": ["e", "x"]}
    d = ev.duplicate_scores(true_groups, pred_group, members, matched)
    assert (d["groups"], d["recovered"]) == (3, 1)  # g1 only: g2 is split, g3 has a member missing
    # pairs: (e1,e2) right, (e3,e4) missed, (e5,e7) merged across groups
    assert (d["pairwise"]["tp"], d["pairwise"]["fn"], d["pairwise"]["fp"]) == (1, 1, 1)
    # an outsider in the predicted group spoils the recovery
    d = ev.duplicate_scores({"g1": ["e1", "e2"]}, {"a": "P", "b": "P", "z": "P"}, {"P": ["a", "b", "z"]},
                            {"e1": "a", "e2": "b"})
    assert d["recovered"] == 0


def test_cli_scores_an_existing_database(config, tmp_path, capsys):
    from echo.store import Store

    db = tmp_path / "scored.duckdb"
    with Store(db) as store:
        _fill(store)
    key = tmp_path / "answers.json"
    key.write_text(json.dumps(_answers(), ensure_ascii=False), encoding="utf-8")
    toml = tmp_path / "echo.toml"
    toml.write_text(f'[paths]\nreports_dir = "{tmp_path / "reports"}"\n')
    assert main(["--config", str(toml), "evaluate", "--answers", str(key), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "overall" in out and "split dev" in out and "original_language" in out
    report = json.loads((tmp_path / "reports" / "corpus_eval.json").read_text(encoding="utf-8"))
    assert report["overall"]["prompts"]["tp"] == 3 and report["db"] == str(db) and report["answers"] == str(key)
    assert main(["--config", str(toml), "evaluate", "--answers", str(tmp_path / "nope.json"), "--db", str(db)]) == 2
    # --backend llm without an endpoint is refused before anything runs
    assert main(["--config", str(toml), "evaluate", str(REALISTIC), "--backend", "llm"]) == 2
    assert "ECHO_LLM_BASE_URL" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_runs_the_realistic_corpus_end_to_end(tmp_path, capsys):
    key = json.loads((REALISTIC / "answers.json").read_text(encoding="utf-8"))
    out = tmp_path / "report.json"
    assert main(["--config", str(ROOT / "echo.toml"), "evaluate", str(REALISTIC), "--backend", "rules",
                 "--out", str(out)]) == 0
    assert "overall" in capsys.readouterr().out
    rep = json.loads(out.read_text(encoding="utf-8"))
    c = rep["counts"]
    trees = key["trees"]
    assert c["trees"] == c["trees_stored"] == len(trees) == key["counts"]["trees"]
    assert c["trees_relevant"] == key["counts"]["relevant_trees"]
    assert c["samples_expected"] == key["counts"]["samples"]
    assert c["feedback_expected"] == sum(len(s["feedback"]) for t in trees for s in t["samples"])
    assert c["duplicate_groups_expected"] == key["counts"]["duplicate_groups"]
    assert rep["backend"] == "rules" and rep["extractors"] and all(e.startswith("rules ") for e in rep["extractors"])
    assert set(rep["per_pattern"]) == set(key["patterns"])
    assert {k: v["trees"] for k, v in rep["per_pattern"].items()} == key["counts"]["trees_per_pattern"]
    assert {k: v["trees"] for k, v in rep["per_split"].items()} == key["counts"]["trees_per_split"]
    m = rep["overall"]
    prompts_expected = sum(1 for t in trees for s in t["samples"] if s["prompt"] or s["prompt_fill_blank"])
    assert m["prompts"]["tp"] + m["prompts"]["fn"] == prompts_expected
    assert m["feedback"]["true"] == c["feedback_expected"]
    assert m["duplicates"]["groups"] == c["duplicate_groups_expected"]
    assert sum(v["duplicates"]["groups"] for v in rep["per_split"].values()) == c["duplicate_groups_expected"]
    for block in [m, *rep["per_pattern"].values(), *rep["per_split"].values()]:
        assert set(block) >= {"trees", "prompts", "relevance", "task", "quality", "feedback", "offtopic_samples"}
        assert 0.0 <= block["prompts"]["f1"] <= 1.0 and 0.0 <= block["relevance"]["accuracy"] <= 1.0
