"""Freeze a new release when the content changed (or a version was asked for), and export it for Hugging Face.

Reads: samples, duplicates, clusters, feedback, posts, media, releases, takedowns. Writes: a release folder
under releases_dir, its row in releases, its HF export under exports_dir. Done: the newest release's
content hash equals what a freeze would write now. A run with failures (degraded) never freezes a release with
fewer benchmark samples than the last one: it is held, and the next complete run freezes it.
"""

from __future__ import annotations

import logging

from echo.release.freeze import ReleaseHeld, freeze
from echo.run import RunContext, StageStats

log = logging.getLogger("echo.release")


def run(ctx: RunContext, stats: StageStats) -> None:
    cfg = ctx.config
    version = ctx.params.get("release_version")
    if not cfg.release.freeze_on_refresh and not version:
        stats["disabled"] += 1
        return
    problems = "; ".join(p for ps in ctx.degraded.values() for p in ps)
    try:
        result = freeze(ctx.store, cfg, version, run_id=ctx.run_id, only_if_changed=version is None,
                        export=cfg.release.export_hf, hold_if_shrinking=problems or None)
    except ReleaseHeld as e:  # a partial run must not publish a smaller benchmark
        stats["held"] += 1
        ctx.degrade("freeze", str(e))
        log.warning("%s", e)
        return
    if result is None:
        stats["unchanged"] += 1
        return
    stats["releases"] += 1
    for name, n in result.manifest["counts"]["per_config"].items():
        stats[f"rows_{name}"] += n
    for name, change in result.manifest["changes"].items():
        stats["added"] += change["added"]
        stats["removed"] += change["removed"]
    if result.export_dir is not None:
        stats["hf_exports"] += 1
    log.info("release %s frozen at %s", result.version, result.path)
