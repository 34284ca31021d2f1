"""A takedown in every file derived from the database: analyst snapshots (rewritten without the forgotten rows,
so their history stays), run reports (rebuilt or deleted), dedup's stored k-NN graph (deleted: the next run
computes it again), and the database file itself (compacted, so no deleted bytes stay readable). Frozen
releases and their exports are immutable and are not touched: the next release drops the data and its
changelog says so.

Above the libraries it joins (release, analyst, report); `echo-bench forget` runs it after `forget()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from echo.analyst.snapshot import rewrite_snapshots
from echo.config import Config
from echo.dedup.knn_cache import drop_graph
from echo.release.forget import forget
from echo.report.html import scrub_reports
from echo.store import Store


@dataclass
class DerivedResult:
    snapshots: list = field(default_factory=list)       # analyst snapshot folders rewritten
    reports_rebuilt: list = field(default_factory=list)
    reports_deleted: list = field(default_factory=list)
    dedup_graph_dropped: bool = False  # the stored k-NN graph (sample ids, text hashes) is recomputed next run


def forget_in_derived_files(config: Config, traces: set[str], *, post: str | None = None, author: str | None = None,
                            platform: str | None = None, reason: str | None = None) -> DerivedResult:
    """After forget(): the same takedown in every analyst snapshot (each rewritten without the rows, so the
    history stays), then every run report that shows the removed data rebuilt (the current snapshot's run,
    and latest.html) or deleted (older runs). Frozen releases and their exports are immutable: not touched."""
    res = DerivedResult()
    found: set[str] = set(traces)

    def change(snapshot_store: Store) -> bool:
        r = forget(snapshot_store, config, post=post, author=author, platform=platform, reason=reason,
                   delete_files=False)
        found.update(r.traces)
        return bool(r.posts or sum(r.counts.values()))

    res.snapshots = rewrite_snapshots(config, change)
    res.reports_rebuilt, res.reports_deleted = scrub_reports(config, found)
    if found:
        res.dedup_graph_dropped = drop_graph(config)
    return res
