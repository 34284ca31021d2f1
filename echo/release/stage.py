"""Pipeline stage "freeze": a new release only when the content changed (or a version was asked for)."""

from __future__ import annotations

import logging

from echo.pipeline import RunContext
from echo.release.freeze import freeze

log = logging.getLogger("echo.release")


def run(ctx: RunContext) -> None:
    stats = ctx.stage_stats("freeze")
    cfg = ctx.config
    version = ctx.params.get("release_version")
    if not cfg.release.freeze_on_refresh and not version:
        stats["disabled"] += 1
        return
    result = freeze(ctx.store, cfg, version, run_id=ctx.run_id, only_if_changed=version is None,
                    export=cfg.release.export_hf)
    if result is None:
        stats["unchanged"] += 1
        return
    stats["releases"] += 1
    for name, n in result.manifest["counts"]["per_config"].items():
        stats[f"rows_{name}"] += n
    for name, change in result.manifest["changes"].items():
        stats["added"] += change["added"]
        stats["removed"] += change["removed"]
    ctx.cache["release_version"] = result.version
    if result.export_dir is not None:
        stats["hf_exports"] += 1
    log.info("release %s frozen at %s", result.version, result.path)
