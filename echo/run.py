"""One refresh run as the stages see it: the context they get, their counters, and what they share.

A stage is a function `run(ctx: RunContext, stats: StageStats) -> None` in echo/stages/. It reads its
pending work from `ctx.store`, calls library functions and counts what it did in `stats`. Objects that are
expensive to build (the LLM backend, the embedding model, the takedown filter) are `ctx.resources`, made on
first use and shared by every stage of the run; hand-offs between stages are typed fields there too.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from echo.config import Config
from echo.store import Store

if TYPE_CHECKING:
    from echo.dedup.ann import KnnGraph
    from echo.dedup.embed import Embedder
    from echo.llm.backend import Backend
    from echo.runner import Runner
    from echo.takedowns import TakedownFilter

T = TypeVar("T")


class StageStats(collections.Counter):
    """Counters of one stage (datatrove style: counted as items flow through)."""

    def counted(self, items: Iterable[T], key: str) -> Iterator[T]:
        for item in items:
            self[key] += 1
            yield item


@dataclass(frozen=True)
class KnnHandoff:
    """The k-NN graph dedup built over sample prompts, reused by cluster when the sample set is the same."""

    sample_ids: tuple[str, ...]
    graph: KnnGraph


@dataclass
class RunResources:
    """Shared objects of one run, each built on first use."""

    config: Config
    store: Store
    # HTTP client overrides for the live sources (tests pass a fake clock and sleep); empty in real runs
    source_http: Mapping[str, Any] = field(default_factory=dict)
    # lines for the user about sources that were skipped or stopped
    source_messages: list[str] = field(default_factory=list)
    # dedup -> cluster
    knn: KnnHandoff | None = None
    # LLM calls of this run per (step, model): llm_usage holds their running totals
    llm_usage: dict[tuple[str, str], collections.Counter] = field(default_factory=dict)
    _backend: Backend | None = None
    _embedder: Embedder | None = None
    _takedowns: TakedownFilter | None = None
    _runner: Runner | None = None

    @property
    def backend(self) -> Backend:
        """The LLM chain's backend: rules offline, else the OpenAI-compatible client (one per run)."""
        if self._backend is None:
            from echo.llm import get_backend

            self._backend = get_backend(self.config, self.store)
        return self._backend

    @property
    def embedder(self) -> Embedder:
        """The sentence embedding model (loaded once, shared by prefilter, embed, dedup, cluster, report)."""
        if self._embedder is None:
            from echo.dedup.embed import Embedder

            self._embedder = Embedder.from_config(self.config)
        return self._embedder

    @property
    def takedowns(self) -> TakedownFilter:
        """Forgotten posts and authors, which no crawl or import may store again."""
        if self._takedowns is None:
            from echo.takedowns import takedown_filter

            self._takedowns = takedown_filter(self.store, self.config)
        return self._takedowns

    @property
    def runner(self) -> Runner:
        """Where the partitioned stages (embed, media) run: this process, or a Dask cluster ([runner]); closed at
        the end of the run."""
        if self._runner is None:
            from echo.runner import make_runner

            self._runner = make_runner(self.config.runner)
        return self._runner

    def use_embedder(self, embedder: Embedder) -> None:
        """Share an already loaded model (tests and notebooks load it once for many runs). It must be the configured
        model and engine: the stages read cached vectors by the configured name."""
        if embedder.name != self.config.embed.cache_name:
            raise ValueError(f"embedder {embedder.name!r} is not the configured {self.config.embed.cache_name!r} "
                             "(embed.model, embed.engine)")
        self._embedder = embedder

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None


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
    resources: RunResources = None  # type: ignore[assignment]  # made in __post_init__
    # stage -> what did not get done this run and is retried next run: the run ends "degraded", not "ok"
    degraded: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.resources is None:
            self.resources = RunResources(self.config, self.store)

    def degrade(self, stage: str, reason: str) -> None:
        self.degraded.setdefault(stage, []).append(reason)

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


Stage = Callable[[RunContext, StageStats], None]


def stage_name(stage: Stage) -> str:
    """A stage's name is its module's: echo.stages.extract.run -> 'extract'."""
    return stage.__module__.rpartition(".")[2]


def stage_doc(stage: Stage) -> str:
    """The first line of the stage module's docstring."""
    import sys

    doc = sys.modules[stage.__module__].__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items: a stage works, writes and reports progress per batch."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
