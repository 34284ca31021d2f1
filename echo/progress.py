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


def status_line(run: dict) -> str:
    """One line a person reads first: the run's status and, when it is not ok, why."""
    line = f"run {run['run_id']}: {run['status']}"
    if run.get("failed_stage"):
        line += f" at stage {run['failed_stage']}: {run.get('error') or ''}".rstrip()
    problems = json.loads(run["problems"]) if isinstance(run.get("problems"), str) else (run.get("problems") or {})
    if problems:
        line += " (" + "; ".join(f"{stage}: {p}" for stage, ps in problems.items() for p in ps) + ")"
    return line


def print_run_summary(store, run_id: str, stage_order: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    row = store.query("SELECT run_id, status, failed_stage, error, problems, stage_stats FROM runs WHERE run_id = ?",
                      [run_id])[0]
    stats = json.loads(row["stage_stats"] or "{}")
    order = [s for s in (stage_order or []) if s in stats] + sorted(s for s in stats if s not in (stage_order or []))
    table = Table(title=f"run {run_id}: {row['status']}")
    table.add_column("stage")
    table.add_column("counts")
    table.add_column("seconds", justify="right")
    for stage in order:
        counters = dict(stats[stage])
        secs = counters.pop("seconds", None)
        table.add_row(stage, ", ".join(f"{k}={v}" for k, v in counters.items()), f"{secs:.1f}" if secs is not None else "")
    console = Console()
    console.print(table)
    console.print(status_line(row), markup=False, highlight=False)
