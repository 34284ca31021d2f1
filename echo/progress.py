"""Progress bars for long stages (CLI only) and the end-of-run summary table."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, *, enabled: bool, total: int | None = None) -> Iterator[T]:
    """Iterate with a rich progress bar when enabled (CLI), silently otherwise (Prefect, tests)."""
    if not enabled:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


@contextlib.contextmanager
def status(description: str, *, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(description):
        yield


def print_run_summary(store, run_id: str) -> None:
    from rich.console import Console
    from rich.table import Table

    row = store.query("SELECT status, failed_stage, stage_stats FROM runs WHERE run_id = ?", [run_id])[0]
    stats = json.loads(row["stage_stats"] or "{}")
    table = Table(title=f"run {run_id}: {row['status']}")
    table.add_column("stage")
    table.add_column("counts")
    table.add_column("seconds", justify="right")
    for stage, counters in stats.items():
        secs = counters.pop("seconds", None)
        table.add_row(stage, ", ".join(f"{k}={v}" for k, v in counters.items()), f"{secs:.1f}" if secs is not None else "")
    Console().print(table)
