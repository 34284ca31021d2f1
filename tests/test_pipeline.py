"""The pipeline loop itself: stage order, the runs row on success and on failure, stage selection."""

from __future__ import annotations

import json

import pytest

from echo import pipeline
from echo.config import Config

CALLS: list[str] = []


def stage_ok(ctx, stats):
    CALLS.append("ok")
    stats["items"] += 3


def stage_boom(ctx, stats):
    CALLS.append("boom")
    stats["items"] += 1
    raise RuntimeError("disk on fire")


def stage_never(ctx, stats):
    CALLS.append("never")


# a stage is named after its module (echo.stages.crawl.run -> "crawl")
stage_ok.__module__, stage_boom.__module__, stage_never.__module__ = "fake.first", "fake.second", "fake.third"


@pytest.fixture
def fake_stages(monkeypatch):
    CALLS.clear()
    stages = (stage_ok, stage_boom, stage_never)
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


def test_the_stage_list_is_the_stage_modules_in_refresh_order():
    from echo.run import stage_doc, stage_name
    from echo.stages import STAGES, stage_names

    assert stage_names() == ["crawl", "filter", "prefilter", "relevance", "media", "extract", "embed",
                             "prefilter_fit", "dedup", "cluster", "freeze", "publish", "report"]
    for stage in STAGES:
        assert stage.__module__ == f"echo.stages.{stage_name(stage)}" and stage.__name__ == "run"
        assert stage_doc(stage), f"{stage.__module__} has no docstring"
