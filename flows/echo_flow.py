"""The Prefect flow `echo` and its nightly deployment `refresh`.

    python -m flows.echo_flow serve          # registers echo/refresh on the configured cron and serves it
    prefect deployment run echo/refresh      # triggers a run from anywhere that reaches the server

Each pipeline stage is a task with retries (stages are idempotent, so a retry is safe). Only one refresh
runs at a time (global_limit=1): DuckDB allows one writer. The flow also takes the CLI's refresh lock
(echo/runlock.py), so it waits for an `echo-bench refresh` that is running instead of failing.
"""

from __future__ import annotations

import argparse
import os
import sys

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.schedules import Cron

from echo import pipeline, runlock
from echo.config import load_config
from echo.run import RunContext, Stage, StageStats, stage_name
from echo.store import Store

STAGE_RETRIES = 2
STAGE_RETRY_DELAYS = [30, 120]


@task(cache_policy=NO_CACHE, retries=STAGE_RETRIES, retry_delay_seconds=STAGE_RETRY_DELAYS)
def stage_task(ctx: RunContext, stage: Stage) -> dict:
    stats = pipeline.run_stage(ctx, stage)
    name = stage_name(stage)
    get_run_logger().info("%s: %s (%.1fs)", name, dict(stats), ctx.seconds.get(name, 0.0))
    return dict(stats)


def _run_as_task(ctx: RunContext, stage: Stage) -> StageStats:
    name = stage_name(stage)
    stage_task.with_options(name=f"stage-{name}", task_run_name=name)(ctx, stage)
    return ctx.stats[name]


@flow(name="echo", log_prints=False)
def echo_flow(config_path: str | None = None, only: list[str] | None = None, skip: list[str] | None = None,
              release_version: str | None = None) -> dict:
    """Refresh the echo benchmark: crawl, filter, extract, dedup, cluster, freeze, publish, report."""
    logger = get_run_logger()
    config = load_config(config_path or os.environ.get("ECHO_CONFIG"), required=True)
    flow_run_id = str(get_run_context().flow_run.id)
    params = {"prefect_flow_run": flow_run_id}
    if release_version:
        params["release_version"] = release_version
    # the CLI's refresh lock too: a flow run queues behind an `echo-bench refresh` instead of failing on the db
    with runlock.refresh_lock(config.path("db"), command=f"prefect flow echo (flow run {flow_run_id})", wait=True,
                              on_wait=lambda holder: logger.info("waiting: %s", holder.describe())), \
            Store(config.path("db")) as store:
        try:
            ctx = pipeline.refresh(config, store, trigger="prefect", params=params, only=only, skip=skip,
                                   progress=False, stage_runner=_run_as_task)
        except pipeline.StageFailed as e:
            logger.error("%s (the runs table records it)", e)
            raise
        logger.info("run %s finished", ctx.run_id)
        return {"run_id": ctx.run_id, "stages": ctx.stats_json()}


def serve(config_path: str | None = None) -> None:
    """Register the `refresh` deployment on the configured cron and serve it until interrupted (SIGINT)."""
    config = load_config(config_path or os.environ.get("ECHO_CONFIG"), required=True)
    params = {"config_path": str(config_path)} if config_path else {}
    echo_flow.serve(
        name=config.schedule.deployment,
        schedules=[Cron(config.schedule.cron, timezone=config.schedule.timezone)],
        parameters=params,
        global_limit=1,
        description="Nightly echo refresh (see README).",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.echo_flow")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the echo/refresh deployment on its cron")
    s.add_argument("--config")
    r = sub.add_parser("run", help="run the flow once in this process (no deployment)")
    r.add_argument("--config")
    args = p.parse_args(argv)
    if args.cmd == "serve":
        serve(args.config)
    else:
        echo_flow(config_path=args.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
