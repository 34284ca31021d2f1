"""The refresh pipeline: an ordered list of stages over one DuckDB store.

Each stage is a plain function `run(ctx: RunContext) -> None` in its area's package. It reads
what is pending from the store, runs pure functions over typed records, upserts the results
and counts what it did in `ctx.stats[stage]`. The CLI runs the stages in a loop; the Prefect
flow (flows/) wraps each one in a task. Neither adds logic of its own.
"""

from __future__ import annotations

import collections
import datetime as dt
import importlib
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from echo import __version__
from echo.config import Config
from echo.store import Store

log = logging.getLogger("echo")

T = TypeVar("T")


class StageStats(collections.Counter):
    """Counters of one stage (datatrove style: counted as items flow through)."""

    def counted(self, items: Iterable[T], key: str) -> Iterator[T]:
        for item in items:
            self[key] += 1
            yield item


@dataclass
class RunContext:
    config: Config
    store: Store
    run_id: str
    trigger: str = "cli"
    params: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, StageStats] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    progress: bool = False  # show progress bars (CLI); quiet under Prefect
    # shared objects a stage may create once per run (LLM backend, embedder ...)
    cache: dict[str, Any] = field(default_factory=dict)

    def stage_stats(self, stage: str) -> StageStats:
        return self.stats.setdefault(stage, StageStats())

    def stats_json(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for name in list(self.stats) + [n for n in self.seconds if n not in self.stats]:
            d = {k: v for k, v in sorted(self.stats.get(name, {}).items())}
            if name in self.seconds:
                d["seconds"] = round(self.seconds[name], 3)
            out[name] = d
        return out


@dataclass(frozen=True)
class Stage:
    name: str
    target: str  # "module:function"
    doc: str

    def load(self) -> Callable[[RunContext], None]:
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)


STAGES: tuple[Stage, ...] = (
    Stage("crawl", "echo.sources.stage:run", "search every enabled source, fetch post trees, store posts"),
    Stage("filter", "echo.filters.stage:run", "cheap rule filters on every new post"),
    Stage("prefilter", "echo.dedup.prefilter:run", "classifier on embeddings lets confident posts skip the LLM"),
    Stage("relevance", "echo.llm.stages:run_relevance", "LLM relevance score 1-5 for the remaining posts"),
    Stage("media", "echo.media.stage:run", "download, validate, hash and store images of relevant trees"),
    Stage("extract", "echo.llm.stages:run_extract", "trees to samples, image roles, screenshots, blanks, feedback"),
    Stage("embed", "echo.dedup.embed:run", "embed sample prompts (cached)"),
    Stage("dedup", "echo.dedup.stage:run", "exact, near-duplicate text and image dedup into groups"),
    Stage("cluster", "echo.dedup.cluster:run", "UMAP + HDBSCAN clusters with c-TF-IDF labels"),
    Stage("freeze", "echo.release.stage:run", "freeze a new release when the content changed"),
    Stage("publish", "echo.analyst.snapshot:run", "Parquet mirrors and the analyst snapshot"),
    Stage("report", "echo.report.html:run", "the HTML run report"),
)


def stage_names() -> list[str]:
    return [s.name for s in STAGES]


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def start_run(config: Config, store: Store, *, trigger: str = "cli", params: dict | None = None,
              progress: bool = False) -> RunContext:
    ctx = RunContext(config=config, store=store, run_id=new_run_id(), trigger=trigger,
                     params=params or {}, progress=progress)
    store.upsert("runs", [{
        "run_id": ctx.run_id, "started_at": dt.datetime.now(dt.UTC), "status": "running",
        "trigger": trigger, "params": {"config_hash": config.hash(), **ctx.params},
        "stage_stats": {}, "code_version": __version__,
    }])
    return ctx


def run_stage(ctx: RunContext, stage: Stage) -> StageStats:
    """Run one stage, time it, and record its counts on the run row (so a crash keeps them)."""
    fn = stage.load()
    t0 = time.perf_counter()
    # A retried stage starts its counters afresh: stages are idempotent, so only the last attempt counts.
    stats = ctx.stats[stage.name] = StageStats()
    try:
        fn(ctx)
    finally:
        ctx.seconds[stage.name] = time.perf_counter() - t0
        ctx.store.upsert("runs", [{"run_id": ctx.run_id, "stage_stats": ctx.stats_json()}], update=["stage_stats"])
    log.info("stage %s done in %.1fs: %s", stage.name, ctx.seconds[stage.name], dict(stats))
    return stats


def finish_run(ctx: RunContext, *, failed_stage: str | None = None, error: BaseException | None = None) -> None:
    row = {
        "run_id": ctx.run_id,
        "finished_at": dt.datetime.now(dt.UTC),
        "status": "failed" if failed_stage else "ok",
        "failed_stage": failed_stage,
        "error": ("".join(traceback.format_exception_only(type(error), error)).strip() if error else None),
        "stage_stats": ctx.stats_json(),
    }
    ctx.store.upsert("runs", [row], update=list(row))
    ctx.store.checkpoint()


class StageFailed(RuntimeError):
    def __init__(self, stage: str, cause: BaseException):
        super().__init__(f"stage {stage!r} failed: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.cause = cause


def selected_stages(only: Iterable[str] | None = None, skip: Iterable[str] | None = None) -> list[Stage]:
    names = stage_names()
    for n in list(only or []) + list(skip or []):
        if n not in names:
            raise ValueError(f"unknown stage {n!r}; stages are: {', '.join(names)}")
    only_set, skip_set = set(only or []), set(skip or [])
    return [s for s in STAGES if (not only_set or s.name in only_set) and s.name not in skip_set]


def refresh(config: Config, store: Store, *, trigger: str = "cli", params: dict | None = None,
            only: Iterable[str] | None = None, skip: Iterable[str] | None = None,
            progress: bool = False, on_stage: Callable[[Stage, StageStats], None] | None = None,
            stage_runner: Callable[[RunContext, Stage], StageStats] = run_stage) -> RunContext:
    """Run the whole pipeline once. The run row is written even when a stage fails (then StageFailed).

    `stage_runner` lets an orchestrator wrap each stage (the Prefect flow makes each one a task with retries).
    """
    stages = selected_stages(only, skip)
    ctx = start_run(config, store, trigger=trigger, params=params, progress=progress)
    for stage in stages:
        try:
            stats = stage_runner(ctx, stage)
        except BaseException as e:  # noqa: BLE001 - recorded, then re-raised
            finish_run(ctx, failed_stage=stage.name, error=e)
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            raise StageFailed(stage.name, e) from e
        if on_stage:
            on_stage(stage, stats)
    finish_run(ctx)
    return ctx
