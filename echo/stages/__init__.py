"""The refresh, in order: one module per stage, each with `run(ctx, stats)`.

Read the files in this order to follow a refresh from the posts to the report.
"""

from __future__ import annotations

from echo.run import Stage, stage_name
from echo.stages import (
    cluster,
    crawl,
    dedup,
    embed,
    extract,
    filter,
    freeze,
    media,
    prefilter,
    prefilter_fit,
    publish,
    relevance,
    report,
)

STAGES: tuple[Stage, ...] = (
    crawl.run,
    filter.run,
    prefilter.run,
    relevance.run,
    media.run,
    extract.run,
    embed.run,
    prefilter_fit.run,
    dedup.run,
    cluster.run,
    freeze.run,
    publish.run,
    report.run,
)


def stage_names() -> list[str]:
    return [stage_name(s) for s in STAGES]
