"""Run the stages of echo/stages in order over one DuckDB store, and record the run.

`refresh()` runs them and writes the run's row in `runs` (per-stage counts and seconds, even when a stage
fails). The CLI calls it directly; the Prefect flow (flows/) passes a `stage_runner` that makes each stage a
task with retries. Neither adds logic of its own.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pyarrow as pa

from echo import __version__
from echo.config import Config
from echo.killpoints import killpoint
from echo.release import recover
from echo.run import RunContext, RunResources, Stage, StageStats, stage_name
from echo.stages import STAGES
from echo.store import Store

log = logging.getLogger("echo")


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


# Young collections every 50,000 allocations instead of 700. A stage holds hundreds of thousands of row dicts
# that are never cyclic garbage, and the default thresholds traverse them again and again: building a
# release's content took twice as long (7.4 s against 3.9 s at 100k posts).
GC_THRESHOLDS = (50_000, 20, 100)


def relax_gc() -> None:
    """Collect cyclic garbage less often: refcounting frees the rows, the cyclic collector only has to catch
    rare cycles. (Process-wide, like the run itself.)"""
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)


def start_run(config: Config, store: Store, *, trigger: str = "cli", params: dict | None = None,
              progress: bool = False, source_http: Mapping[str, Any] | None = None) -> RunContext:
    """A new run and its `runs` row, after finishing what a killed run left: its row becomes 'interrupted', and a
    release or export it was publishing is completed or rolled back (echo.release.recover).
    `source_http` overrides the live sources' HTTP client (tests: a fake clock)."""
    relax_gc()
    ctx = RunContext(config=config, store=store, run_id=new_run_id(), trigger=trigger, params=params or {},
                     progress=progress,
                     resources=RunResources(config, store, source_http=dict(source_http or {})))
    store.upsert("runs", [{
        "run_id": ctx.run_id, "started_at": dt.datetime.now(dt.UTC), "status": "running",
        "trigger": trigger, "params": {"config_hash": config.hash(), **ctx.params},
        "stage_stats": {}, "code_version": __version__, **recover.process_fields(),
    }])
    startup = ctx.stage_stats("startup")
    for run_id in recover.mark_interrupted(store, current_run_id=ctx.run_id):
        log.warning("run %s was interrupted (its process is gone): marked so", run_id)
        startup["runs_marked_interrupted"] += 1
    for action in recover.recover(store, config):
        log.warning("recovered: %s", action)
        startup["releases_recovered"] += 1
    return ctx


def return_free_memory() -> None:
    """Hand the heap a stage freed back to the OS. glibc keeps freed blocks below its mmap threshold (torch's
    activations while embedding: 180 MB after 300 long prompts), and the next stage's peak stacks on them."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    pa.default_memory_pool().release_unused()  # Arrow's own allocator (mimalloc) keeps freed pages too


def run_stage(ctx: RunContext, stage: Stage) -> StageStats:
    """Run one stage, time it, and record its counts on the run row (so a crash keeps them)."""
    name = stage_name(stage)
    killpoint(f"stage.{name}.start")
    t0 = time.perf_counter()
    # A retried stage starts its counters afresh: stages are idempotent, so only the last attempt counts.
    stats = ctx.stats[name] = StageStats()
    try:
        stage(ctx, stats)
    finally:
        ctx.seconds[name] = time.perf_counter() - t0
        ctx.store.upsert("runs", [{"run_id": ctx.run_id, "stage_stats": ctx.stats_json()}], update=["stage_stats"])
        return_free_memory()
    killpoint(f"stage.{name}.done")
    log.info("stage %s done in %.1fs: %s", name, ctx.seconds[name], dict(stats))
    return stats


def finish_run(ctx: RunContext, *, failed_stage: str | None = None, error: BaseException | None = None) -> None:
    ctx.resources.close()
    row = {
        "run_id": ctx.run_id,
        "finished_at": dt.datetime.now(dt.UTC),
        "status": "failed" if failed_stage else ("degraded" if ctx.degraded else "ok"),
        "problems": ctx.degraded or None,
        "failed_stage": failed_stage,
        "error": ("".join(traceback.format_exception_only(type(error), error)).strip() if error else None),
        "stage_stats": ctx.stats_json(),
    }
    ctx.store.upsert("runs", [row], update=list(row))
    wal = ctx.store.path.with_name(ctx.store.path.name + ".wal") if ctx.store.path is not None else None
    wal_bytes = wal.stat().st_size if wal is not None and wal.exists() else 0
    t0 = time.perf_counter()
    ctx.store.checkpoint()
    log.info("checkpoint: %.1f MB of write-ahead log in %.1f s", wal_bytes / 1e6, time.perf_counter() - t0)


class StageFailed(RuntimeError):
    def __init__(self, stage: str, cause: BaseException):
        super().__init__(f"stage {stage!r} failed: {type(cause).__name__}: {cause}")
        self.stage = stage
        self.cause = cause


def selected_stages(only: Iterable[str] | None = None, skip: Iterable[str] | None = None) -> list[Stage]:
    names = [stage_name(s) for s in STAGES]
    for n in list(only or []) + list(skip or []):
        if n not in names:
            raise ValueError(f"unknown stage {n!r}; stages are: {', '.join(names)}")
    only_set, skip_set = set(only or []), set(skip or [])
    return [s for s in STAGES if (not only_set or stage_name(s) in only_set) and stage_name(s) not in skip_set]


def refresh(config: Config, store: Store, *, trigger: str = "cli", params: dict | None = None,
            only: Iterable[str] | None = None, skip: Iterable[str] | None = None,
            progress: bool = False, on_stage: Callable[[Stage, StageStats], None] | None = None,
            stage_runner: Callable[[RunContext, Stage], StageStats] = run_stage,
            source_http: Mapping[str, Any] | None = None) -> RunContext:
    """Run the whole pipeline once. The run row is written even when a stage fails (then StageFailed).

    `stage_runner` lets an orchestrator wrap each stage (the Prefect flow makes each one a task with retries).
    """
    stages = selected_stages(only, skip)
    ctx = start_run(config, store, trigger=trigger, params=params, progress=progress, source_http=source_http)
    for stage in stages:
        try:
            stats = stage_runner(ctx, stage)
        except BaseException as e:  # noqa: BLE001 - recorded, then re-raised
            finish_run(ctx, failed_stage=stage_name(stage), error=e)
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            raise StageFailed(stage_name(stage), e) from e
        if on_stage:
            on_stage(stage, stats)
    finish_run(ctx)
    return ctx
