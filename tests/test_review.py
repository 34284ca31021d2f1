"""echo-bench review: listing samples sent to manual review and recording accept/reject decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from echo.cli import main
from echo.review import ReviewError, pending_reviews, record_decision
from echo.records import Post, Sample
from echo.store import Store


def _sample(sid, decision, prompt="a fox in the snow", targets=("prompt",), minute=0):
    return Sample(sample_id=sid, platform="x", root_id="r1", anchor_post_id="r1", prompt=prompt, prompt_modified=True,
                  quality="benchmark", task="text_to_image", output_media=["https://e.invalid/o.png"],
                  evidence_post_ids=["r1", "r2"], benchmark_decision=decision, review_targets=list(targets),
                  extractor="rules", extractor_version="v", created_at=dt.datetime(2025, 4, 1, 12, minute, tzinfo=dt.UTC))


def _fill(store: Store) -> None:
    store.upsert("posts", [Post(platform="x", post_id="r1", author="alice", text="1/2 Prompt: a fox"),
                           Post(platform="x", post_id="r2", author="alice", text="2/2 in the snow")])
    store.upsert("samples", [_sample("s-review-1", "manual_review"), _sample("s-review-2", "manual_review", minute=1),
                             _sample("s-bench", "benchmark", targets=())])


def test_decisions_round_trip_and_replace_earlier_ones(store):
    _fill(store)
    pending = pending_reviews(store)
    assert [r["sample_id"] for r in pending] == ["s-review-1", "s-review-2"]
    assert [p["text"] for p in pending[0]["evidence"]] == ["1/2 Prompt: a fox", "2/2 in the snow"]

    row = record_decision(store, "s-review-1", "Accept", reviewer="rev", note="stitching checked")
    assert (row["decision"], row["targets"]) == ("accept", ["prompt"])
    assert [r["sample_id"] for r in pending_reviews(store)] == ["s-review-2"]
    record_decision(store, "s-review-1", "reject", reviewer="rev2")
    got = store.query("SELECT sample_id, decision, reviewer, note FROM review_decisions")
    assert got == [{"sample_id": "s-review-1", "decision": "reject", "reviewer": "rev2", "note": None}]
    decided = {r["sample_id"]: r["decision"] for r in pending_reviews(store, include_decided=True)}
    assert decided == {"s-review-1": "reject", "s-review-2": None}


def test_bad_decisions_are_refused(store):
    _fill(store)
    with pytest.raises(ReviewError, match="accept or reject|one of"):
        record_decision(store, "s-review-1", "maybe")
    with pytest.raises(ReviewError, match="no sample"):
        record_decision(store, "nope", "accept")
    assert store.count("review_decisions") == 0


def test_release_reads_the_decisions(store):
    build = pytest.importorskip("echo.release.build", reason="release step not importable")
    _fill(store)
    record_decision(store, "s-review-1", "accept")
    record_decision(store, "s-review-2", "reject")
    assert build.review_decisions(store) == {"s-review-1": "accept", "s-review-2": "reject"}


def test_cli_lists_accepts_and_rejects(config, capsys, monkeypatch):
    with Store(config.path("db")) as store:
        _fill(store)
    toml = config.base_dir + "/echo.toml"
    with open(toml, "w") as f:
        f.write(f'[paths]\ndb = "{config.path("db")}"\n')
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    assert main(["--config", toml, "review"]) == 0
    out = capsys.readouterr().out
    assert "s-review-1" in out and "s-review-2" in out and "s-bench" not in out and "2 sample(s)" in out
    assert main(["--config", toml, "review", "--accept", "s-review-1", "--note", "ok", "--reviewer", "me"]) == 0
    assert main(["--config", toml, "review", "--reject", "s-review-2"]) == 0
    assert main(["--config", toml, "review", "--accept", "missing-id"]) == 2
    capsys.readouterr()
    assert main(["--config", toml, "review", "--list"]) == 0
    assert "nothing to review" in capsys.readouterr().out
    with Store(config.path("db"), read_only=True) as store:
        rows = store.query("SELECT sample_id, decision, reviewer, note FROM review_decisions ORDER BY sample_id")
    assert [(r["sample_id"], r["decision"]) for r in rows] == [("s-review-1", "accept"), ("s-review-2", "reject")]
    assert rows[0]["reviewer"] == "me" and rows[0]["note"] == "ok"
