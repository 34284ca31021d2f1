"""The nightly path, for real: a local Prefect server, the served `refresh` deployment, and
`prefect deployment run echo/refresh` triggering a full pipeline run on the sample corpus."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait_for(predicate, timeout: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{what}: a process exited early with {p.returncode}")
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_deployment_run_echo_refresh_completes(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ECHO_", "PREFECT_"))},
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        "ECHO_CONFIG": str(ROOT / "echo.toml"),
    }
    # Every output of the run goes under tmp_path; the bundled samples are read in place.
    for key, sub in [("DB", "echo.duckdb"), ("MEDIA_DIR", "media"), ("PARQUET_DIR", "parquet"),
                     ("RELEASES_DIR", "releases"), ("EXPORTS_DIR", "exports"), ("REPORTS_DIR", "reports"),
                     ("ANALYST_DIR", "analyst"), ("DATA_DIR", ".")]:
        env[f"ECHO_PATHS_{key}"] = str(tmp_path / sub)
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("server", "serve")}
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=logs["server"], stderr=subprocess.STDOUT)
    serve = None
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(healthy, 120, "the Prefect server to be healthy", [server])
        serve = subprocess.Popen([sys.executable, "-m", "flows.echo_flow", "serve"], env=env, cwd=ROOT,
                                 stdout=logs["serve"], stderr=subprocess.STDOUT)

        def deployment_registered() -> bool:
            r = httpx.get(f"{api}/deployments/name/echo/refresh", timeout=5)
            return r.status_code == 200

        _wait_for(deployment_registered, 120, "the echo/refresh deployment", [server, serve])
        dep = httpx.get(f"{api}/deployments/name/echo/refresh", timeout=5).json()
        assert dep["schedules"][0]["schedule"]["cron"] == "0 3 * * *"

        run = subprocess.run([str(BIN / "prefect"), "deployment", "run", "echo/refresh", "--watch",
                              "--watch-timeout", "900"], env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=1000)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + (tmp_path / "serve.log").read_text()[-5000:]
        assert "Completed" in run.stdout + run.stderr
    finally:
        if serve is not None:
            _stop(serve)
        _stop(server)
        for f in logs.values():
            f.close()

    with Store(tmp_path / "echo.duckdb", read_only=True) as store:
        (row,) = store.query("SELECT status, trigger, params, stage_stats FROM runs")
        assert row["status"] == "ok" and row["trigger"] == "prefect"
        assert "prefect_flow_run" in json.loads(row["params"])
        stages = json.loads(row["stage_stats"])
        assert list(stages) == [s for s in stages]  # ordered
        assert "crawl" in stages and "report" in stages
        assert store.count("posts") > 0 and store.count("samples") > 0
