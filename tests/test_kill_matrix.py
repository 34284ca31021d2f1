"""kill -9 at every stage boundary of a refresh: nothing is lost or changed, and the next run says what happened.

One corpus (the Bluesky part of data/samples), refreshed in a child process that is SIGKILLed as stage k starts
(ECHO_TEST_KILL_AT=stage.<name>.start, echo.killpoints). Each run gets one stage further than the one before, so
every boundary is hit once; then a last run finishes. Its tables must equal those of a clean run (content hashes
without run bookkeeping), the killed runs must read 'interrupted', and the run after a kill must say so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from echo.stages import stage_names
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # ~15 refreshes in child processes


def _config(folder: Path, refs: Path) -> Path:
    """The same settings for every run (the config hash is part of a release), data under `folder`."""
    folder.mkdir(parents=True)
    cfg = folder / "echo.toml"
    cfg.write_text(f"""
[paths]
data_dir = "data"
db = "data/echo.duckdb"
media_dir = "data/media"
parquet_dir = "data/parquet"
releases_dir = "data/releases"
exports_dir = "data/exports"
reports_dir = "data/reports"
analyst_dir = "data/analyst"

[media]
url_map = {{ "https://echo-samples.invalid/media/" = "{ROOT / 'data/samples/media'}/" }}

[report]
reference_prompts_dir = "{refs}"

[[sources]]
name = "samples"
kind = "import"
paths = ["{ROOT / 'data/samples/bluesky'}"]
""", encoding="utf-8")
    return cfg


def _refresh(cfg: Path, kill_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHO_")}
    env.update(ECHO_PSEUDONYM_SALT="kill-matrix", HF_HUB_OFFLINE="1")
    if kill_at:
        env["ECHO_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "echo.cli", "--config", str(cfg), "refresh", "-q"], env=env,
                          cwd=cfg.parent, capture_output=True, text=True, timeout=900)


def _hashes(cfg: Path) -> dict[str, str]:
    with Store(cfg.parent / "data" / "echo.duckdb") as store:
        return store.content_hashes()


def test_kill_at_every_stage_boundary_loses_nothing(tmp_path):
    refs = tmp_path / "no-reference-prompts"  # the report's map without earlier benchmarks: faster, same checks
    refs.mkdir()
    clean = _config(tmp_path / "clean", refs)
    assert _refresh(clean).returncode == 0
    expected = _hashes(clean)

    cfg = _config(tmp_path / "killed", refs)
    names = stage_names()
    for k, name in enumerate(names):
        p = _refresh(cfg, kill_at=f"stage.{name}.start")
        assert p.returncode == -signal.SIGKILL, (name, p.stderr[-2000:])
        if k > 0:  # the run before this one was killed: this one found it and said so
            assert "was interrupted (its process is gone): marked so" in p.stderr, p.stderr[-2000:]
    last = _refresh(cfg)
    assert last.returncode == 0, last.stderr[-2000:]
    assert "was interrupted" in last.stderr

    assert _hashes(cfg) == expected
    with Store(cfg.parent / "data" / "echo.duckdb") as store:
        runs = store.query("SELECT status, stage_stats FROM runs ORDER BY started_at")
    assert [r["status"] for r in runs] == ["interrupted"] * len(names) + ["ok"]
    # each killed run recorded the stages it finished before the kill: one more each time
    done = [set(json.loads(r["stage_stats"] or "{}")) - {"startup"} for r in runs[:-1]]
    assert [len(d) for d in done] == list(range(len(names)))
