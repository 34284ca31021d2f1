"""Publish what analysts query during a refresh: every table to Parquet plus a read-only DuckDB of views.

Reads: every table. Writes: data/analyst/snapshots/<run_id>/ and swaps data/analyst/current to it (the
last three snapshots are kept). Done: runs every time, at the end of the run.
"""

from __future__ import annotations

from echo import schema
from echo.analyst.snapshot import publish
from echo.run import RunContext, StageStats


def run(ctx: RunContext, stats: StageStats) -> None:
    folder = publish(ctx.store, ctx.config, ctx.run_id)
    stats["tables"] = len(schema.tables())
    stats["rows"] = sum(ctx.store.counts().values())
    stats["snapshot_bytes"] = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
