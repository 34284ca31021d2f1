"""The pipeline loop itself: stage order, the runs row on success and on failure, stage selection."""

from __future__ import annotations

import json

import pytest

from echo import pipeline
from echo.config import Config

CALLS: list[str] = []


def stage_ok(ctx):
    CALLS.append("ok")
    ctx.stage_stats("first")["items"] += 3


def stage_boom(ctx):
    CALLS.append("boom")
    ctx.stage_stats("second")["items"] += 1
    raise RuntimeError("disk on fire")


def stage_never(ctx):
    CALLS.append("never")


@pytest.fixture
def fake_stages(monkeypatch):
    CALLS.clear()
    stages = (
        pipeline.Stage("first", f"{__name__}:stage_ok", "counts three items"),
        pipeline.Stage("second", f"{__name__}:stage_boom", "fails"),
        pipeline.Stage("third", f"{__name__}:stage_never", "must not run after a failure"),
    )
    monkeypatch.setattr(pipeline, "STAGES", stages)
    return stages


def test_failed_stage_is_recorded_and_later_stages_do_not_run(store, fake_stages):
    with pytest.raises(pipeline.StageFailed) as err:
        pipeline.refresh(Config(), store)
    assert err.value.stage == "second"
    assert CALLS == ["ok", "boom"]
    (run,) = store.query("SELECT status, failed_stage, error, finished_at, stage_stats FROM runs")
    assert run["status"] == "failed" and run["failed_stage"] == "second"
    assert "disk on fire" in run["error"] and run["finished_at"] is not None
    stats = json.loads(run["stage_stats"])
    assert stats["first"]["items"] == 3 and stats["second"]["items"] == 1
    assert "third" not in stats


def test_successful_run_and_stage_selection(store, fake_stages):
    ctx = pipeline.refresh(Config(), store, only=["first"])
    assert CALLS == ["ok"]
    (run,) = store.query("SELECT run_id, status, failed_stage, stage_stats FROM runs")
    assert run["run_id"] == ctx.run_id and run["status"] == "ok" and run["failed_stage"] is None
    assert json.loads(run["stage_stats"])["first"]["items"] == 3
    with pytest.raises(ValueError, match="unknown stage"):
        pipeline.refresh(Config(), store, only=["nope"])


def test_a_retried_stage_counts_only_its_last_attempt(store, fake_stages):
    ctx = pipeline.start_run(Config(), store)
    first = fake_stages[0]
    pipeline.run_stage(ctx, first)
    pipeline.run_stage(ctx, first)  # what a Prefect retry does
    assert ctx.stats["first"]["items"] == 3


def test_the_real_stage_list_names_importable_targets():
    names = pipeline.stage_names()
    assert names[0] == "crawl" and names[-1] == "report"
    for stage in pipeline.STAGES:
        assert callable(stage.load()), stage.target
