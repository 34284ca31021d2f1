"""Accounting of LLM calls: running totals per run, step and model in llm_usage, failures in llm_failures."""

from __future__ import annotations

import collections
import datetime as dt

from echo.llm.backend import LLMUnavailable, Outcome
from echo.records import stable_id
from echo.store import Store

USAGE_FIELDS = ("calls", "cache_hits", "failures", "tokens_in", "tokens_out")


def record_outcome(store: Store, run_id: str, totals: dict[tuple[str, str], collections.Counter], out: Outcome,
                   stats: collections.Counter) -> list[str]:
    """Add one backend outcome to the run's totals (and llm_usage), store its failures, count it in `stats`.

    Returns what did not get done (failed items, a deadline), for the run's status; raises LLMUnavailable, after
    recording, when the backend stopped because the endpoint kept failing.
    """
    if not (out.calls or out.cache_hits or out.failures or out.results):
        return []  # the step had nothing to do
    u = totals.setdefault((out.step, out.model), collections.Counter())
    u.update(calls=out.calls, cache_hits=out.cache_hits, failures=len(out.failures), tokens_in=out.tokens_in,
             tokens_out=out.tokens_out)
    store.upsert("llm_usage", [{"run_id": run_id, "step": out.step, "model": out.model,
                                **{k: int(u[k]) for k in USAGE_FIELDS}}])
    now = dt.datetime.now(dt.UTC)
    if out.failures:
        store.upsert("llm_failures", [{
            "failure_id": stable_id("llm_failure", run_id, out.step, f.key), "run_id": run_id,
            "step": out.step, "model": out.model, "item_key": f.key, "error": (f.error or "")[:4000],
            "raw_answer": f.raw_answer, "recorded_at": now} for f in out.failures])
    stats[f"{out.step}.calls"] += out.calls
    stats[f"{out.step}.cache_hits"] += out.cache_hits
    stats["llm_calls"] += out.calls
    stats["cache_hits"] += out.cache_hits
    stats["failures"] += len(out.failures)
    stats["tokens_in"] += out.tokens_in
    stats["tokens_out"] += out.tokens_out
    if out.stopped == "unavailable":
        raise LLMUnavailable(out.stop_reason or "the LLM endpoint is unavailable")
    problems = []
    if out.stopped == "deadline":
        stats[f"{out.step}.not_asked"] += sum(1 for f in out.failures if f.error.startswith("not asked"))
        problems.append(f"{out.step}: the stage deadline (llm.stage_deadline_s) passed; the rest is asked next run")
    failed = sum(1 for f in out.failures if not f.error.startswith("not asked"))
    if failed:
        problems.append(f"{out.step}: {failed} item(s) got no valid answer (llm_failures); asked again next run")
    return problems
