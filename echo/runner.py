"""Where the heavy stages' partitions run: in this process ("local") or on a Dask cluster ("dask"); see [runner].

A stage splits its pending work into partitions (`runner.partitions`), hands a pure function and the partitions to
`runner.map_partitions`, and writes what comes back itself: DuckDB has one writer, the coordinator (this process),
which ingests results with its usual batched writes. Results come back in partition order, whatever order they
finish in, so the tables never depend on scheduling.

On Dask, a worker that dies costs only its partition: the scheduler runs it again on another worker, and when the
scheduler gives up on it (`distributed.scheduler.allowed-failures`, KilledWorker) it is submitted again from here, up
to PARTITION_RESUBMITS times. Partitions already finished are kept. An exception raised by the partition function
itself is a bug or bad input, not a lost worker: it fails the stage as it would in-process.

Heavy state (the embedding model, the OCR engine) is built once per worker process, not per partition:
`worker_state` caches it in the process by key.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from echo.config import RunnerSettings
from echo.killpoints import killpoint

log = logging.getLogger("echo.runner")

P = TypeVar("P")
R = TypeVar("R")

PARTITION_RESUBMITS = 2  # after the scheduler gave up on a partition (its workers kept dying)
PARTITIONS_PER_WORKER = 2  # small enough partitions that a lost worker costs little and no worker idles
CONNECT_TIMEOUT_S = 20


class RunnerError(RuntimeError):
    pass


class Runner(Protocol):
    kind: str
    workers: int
    in_process: bool  # partition functions may close over this process's objects (a loaded model, the store)

    def partitions(self, items: Sequence[P], max_size: int) -> list[Sequence[P]]: ...

    def map_partitions(self, fn: Callable[[P], R], partitions: Sequence[P], label: str | None = None) -> Iterator[R]:
        """fn(partition) for each partition, yielded in partition order; `label` names them in logs."""

    def close(self) -> None: ...


def split(items: Sequence[P], max_size: int, workers: int) -> list[Sequence[P]]:
    """Consecutive slices of at most `max_size` items; with several workers, at least PARTITIONS_PER_WORKER each
    when there is enough work, so that every worker gets some."""
    if not items:
        return []
    size = max(1, max_size)
    if workers > 1:
        size = max(1, min(size, math.ceil(len(items) / (PARTITIONS_PER_WORKER * workers))))
    return [items[i:i + size] for i in range(0, len(items), size)]


class LocalRunner:
    """Today's code path: partitions run one after the other in this process."""

    kind = "local"
    workers = 1
    in_process = True

    def partitions(self, items: Sequence[P], max_size: int) -> list[Sequence[P]]:
        return split(items, max_size, 1)

    def map_partitions(self, fn: Callable[[P], R], partitions: Sequence[P], label: str | None = None) -> Iterator[R]:
        for part in partitions:
            yield fn(part)

    def close(self) -> None:
        pass


def run_partition(fn: Callable[[P], R], part: P, label: str, index: int) -> R:
    """What a Dask worker runs for one partition (module level, so workers import it instead of unpickling code)."""
    killpoint(f"partition.{label}.{index}")  # the crash tests kill a worker here
    return fn(part)


class DaskRunner:
    """Partitions as Dask futures: on a LocalCluster of `workers` processes, or on the cluster at `address`."""

    kind = "dask"
    in_process = False

    def __init__(self, settings: RunnerSettings):
        from distributed import Client, LocalCluster

        self.cluster = None
        if settings.address:
            try:
                self.client = Client(settings.address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise RunnerError(f"cannot reach the Dask scheduler at {settings.address} (runner.address): "
                                  f"{type(e).__name__}: {e}") from e
            self.address = settings.address
        else:
            # one thread per worker process: torch and onnxruntime use their own threads, and a worker that dies
            # takes one partition with it, not several
            self.cluster = LocalCluster(n_workers=settings.workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
            self.client = Client(self.cluster, set_as_default=False)
            self.address = self.cluster.scheduler_address
        self.workers = max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))
        log.info("runner: dask at %s with %d worker(s)", self.address, self.workers)

    def partitions(self, items: Sequence[P], max_size: int) -> list[Sequence[P]]:
        return split(items, max_size, self.workers)

    def map_partitions(self, fn: Callable[[P], R], partitions: Sequence[P], label: str | None = None) -> Iterator[R]:
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        label = label or getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "fn")
        attempts: dict[Any, tuple[int, int]] = {}  # future -> (partition index, resubmits so far)

        def submit(i: int, resubmits: int):
            fut = self.client.submit(run_partition, fn, partitions[i], label, i, pure=False)
            attempts[fut] = (i, resubmits)
            return fut

        pending = as_completed([submit(i, 0) for i in range(len(partitions))], loop=self.client.loop)
        done: dict[int, R] = {}
        next_index = 0
        try:
            for fut in pending:
                i, resubmits = attempts.pop(fut)
                try:
                    result = fut.result()
                except (KilledWorker, FutureCancelledError) as e:
                    if resubmits >= PARTITION_RESUBMITS:
                        raise RunnerError(f"partition {i} of {label} lost its worker {resubmits + 1} times: {e}") from e
                    log.warning("runner: partition %d of %s lost its worker (%s); submitting it again", i, label, e)
                    pending.add(submit(i, resubmits + 1))
                    continue
                finally:
                    fut.release()
                done[i] = result
                while next_index in done:
                    yield done.pop(next_index)
                    next_index += 1
        finally:
            if attempts:  # the consumer stopped early or a partition failed: drop the rest
                self.client.cancel(list(attempts))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_runner(settings: RunnerSettings) -> Runner:
    if settings.kind == "dask":
        return DaskRunner(settings)
    return LocalRunner()


# --- state built once per process -----------------------------------------------------------------

_state: dict[tuple, Any] = {}
_state_lock = threading.Lock()


def worker_state(factory: Callable[..., R], *args: Any) -> R:
    """`factory(*args)`, built on the first call in this process and reused after (per worker: the model, the OCR
    engine). `args` are the key, so they must be hashable (the settings the object depends on)."""
    key = (factory.__module__, factory.__qualname__, args)
    with _state_lock:
        if key not in _state:
            _state[key] = factory(*args)
        return _state[key]
