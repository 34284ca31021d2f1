"""[runner] kind = "dask": the sample corpus refreshed on a LocalCluster (127.0.0.1) gives the tables of the local
runner, also when a worker dies in the middle of a stage; and the runner settings are checked like the others."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from conftest import config_under
from echo import pipeline, runner
from echo.config import ConfigError, RunnerSettings, load_config
from echo.store import Store

ROOT = Path(__file__).resolve().parent.parent


# --- settings -------------------------------------------------------------------------------------


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    f = tmp_path / "echo.toml"
    f.write_text(f'[paths]\ndata_dir = "{tmp_path}"\n')
    return f


def _refusal(cfg_file: Path, env: dict[str, str], toml: str = "") -> str:
    if toml:
        cfg_file.write_text(cfg_file.read_text() + toml)
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file, env=env)
    return str(err.value)


def test_runner_settings_from_file_and_environment(cfg_file):
    assert load_config(cfg_file, env={}).runner == RunnerSettings(kind="local", address="", workers=2)
    env = {"ECHO_RUNNER_KIND": "dask", "ECHO_RUNNER_WORKERS": "4", "ECHO_RUNNER_ADDRESS": "tcp://10.0.0.5:8786"}
    assert load_config(cfg_file, env=env).runner == RunnerSettings(kind="dask", address="tcp://10.0.0.5:8786",
                                                                   workers=4)
    cfg_file.write_text(cfg_file.read_text() + '[runner]\nkind = "dask"\naddress = "tls://sched.example:8786"\n')
    assert load_config(cfg_file, env={}).runner.address == "tls://sched.example:8786"
    # where the run happens does not shape its outputs: the config hash (part of a release) stays the same
    assert load_config(cfg_file, env={}).hash() == load_config(cfg_file, env={"ECHO_RUNNER_KIND": "local",
                                                                              "ECHO_RUNNER_ADDRESS": ""}).hash()


@pytest.mark.parametrize("env, toml, expected", [
    ({"ECHO_RUNNER_KIND": "spark"}, "",
     "runner.kind (from ECHO_RUNNER_KIND): unknown runner 'spark'; one of: local, dask"),
    ({}, '[runner]\nkind = "ray"\n', "runner.kind: unknown runner 'ray'; one of: local, dask"),
    ({"ECHO_RUNNER_KIND": "dask", "ECHO_RUNNER_WORKERS": "0"}, "",
     "runner.workers (from ECHO_RUNNER_WORKERS) must be >= 1 and <= 256, got 0"),
    ({}, '[runner]\nkind = "dask"\nworkers = 1000\n', "runner.workers must be >= 1 and <= 256, got 1000"),
    ({"ECHO_RUNNER_WORKERS": "2.5"}, "", "ECHO_RUNNER_WORKERS: expected an integer, got '2.5'"),
    ({"ECHO_RUNNER_KIND": "dask", "ECHO_RUNNER_ADDRESS": "localhost:8786"}, "",
     "runner.address (from ECHO_RUNNER_ADDRESS): 'localhost:8786' is not a Dask scheduler address; expected "
     "tcp://host:port (e.g. tcp://10.0.0.5:8786), or \"\" to start a local cluster"),
    ({"ECHO_RUNNER_KIND": "dask", "ECHO_RUNNER_ADDRESS": "http://sched:8786"}, "",
     "runner.address (from ECHO_RUNNER_ADDRESS): 'http://sched:8786' is not a Dask scheduler address"),
    ({"ECHO_RUNNER_KIND": "dask", "ECHO_RUNNER_ADDRESS": "tcp://sched"}, "",
     "runner.address (from ECHO_RUNNER_ADDRESS): 'tcp://sched' is not a Dask scheduler address"),
    ({"ECHO_RUNNER_KIND": "dask", "ECHO_RUNNER_ADDRESS": "tcp://sched:port"}, "",
     "runner.address (from ECHO_RUNNER_ADDRESS): 'tcp://sched:port' is not a Dask scheduler address"),
    ({"ECHO_RUNNER_ADDRESS": "tcp://sched:8786"}, "",
     "runner.address (from ECHO_RUNNER_ADDRESS) is set but runner.kind is 'local'; an address is only used with "
     "kind = \"dask\""),
    ({"ECHO_RUNNER_WORKRES": "2"}, "", "environment variable ECHO_RUNNER_WORKRES is not a setting; did you mean "
                                       "ECHO_RUNNER_WORKERS? [runner] keys: kind, address, workers"),
])
def test_bad_runner_settings_are_refused_clearly(cfg_file, env, toml, expected):
    assert _refusal(cfg_file, env, toml).startswith(expected)


def test_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 2)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(runner.RunnerError, match=f"cannot reach the Dask scheduler at {address} \\(runner.address\\)"):
        runner.make_runner(RunnerSettings(kind="dask", address=address))


# --- partitions -----------------------------------------------------------------------------------


def test_partitions_give_every_worker_work_and_keep_order():
    items = list(range(10))
    assert runner.split(items, 4, 1) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]  # local: today's batches
    assert runner.split(items, 4, 2) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]  # 2 workers: >= 2 partitions each
    assert runner.split(items, 100, 8) == [[i] for i in items]
    assert runner.split([], 4, 2) == []
    assert list(runner.LocalRunner().map_partitions(sum, runner.split(items, 4, 1))) == [6, 22, 17]


def _slow_sum(part: list[int]) -> int:
    time.sleep(0.3 if part[0] == 0 else 0)  # the first partition finishes last
    return sum(part)


def test_joining_a_cluster_by_address_yields_results_in_partition_order():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        r = runner.make_runner(RunnerSettings(kind="dask", address=cluster.scheduler_address))
        try:
            assert r.workers == 2 and not r.in_process
            parts = r.partitions(list(range(10)), 4)
            assert parts == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
            assert list(r.map_partitions(_slow_sum, parts, label="sum")) == [3, 12, 21, 9]
        finally:
            r.close()
        assert cluster.scheduler_info["workers"]  # closing the runner leaves a cluster it joined running


# --- the sample corpus on a LocalCluster ----------------------------------------------------------


def _refresh(config, tmp_path: Path, name: str, **runner_env: str) -> tuple[dict[str, str], pipeline.RunContext]:
    env = {f"ECHO_RUNNER_{k.upper()}": v for k, v in runner_env.items()}
    config.runner = load_config(ROOT / "echo.toml", env=env).runner
    config.paths.db = str(tmp_path / f"{name}.duckdb")
    config.paths.media_dir = str(tmp_path / f"{name}-media")
    with Store(config.paths.db) as store:
        ctx = pipeline.refresh(config, store)
        return store.content_hashes(), ctx


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory) -> dict[str, str]:
    """The tables of the sample corpus refreshed by the local runner (computed once for the tests below)."""
    tmp = tmp_path_factory.mktemp("local")
    config = _config_for(tmp)
    hashes, ctx = _refresh(config, tmp, "local")
    print("local runner stage seconds:", {k: round(v, 1) for k, v in ctx.seconds.items()})
    assert ctx.stats["embed"]["embedded"] > 0 and ctx.stats["media"]["stored"] > 0
    return hashes


def _config_for(tmp: Path):
    """The repo's echo.toml with its outputs under `tmp` (as the `config` fixture, usable at module scope)."""
    cfg = config_under(tmp)
    # the report's map without earlier benchmarks: faster, same checks. One folder for every run: the path is part
    # of the config hash, which a release records
    refs = tmp.parent / "no-reference-prompts"
    refs.mkdir(exist_ok=True)
    cfg.report.reference_prompts_dir = str(refs)
    return cfg


@pytest.mark.slow  # each refresh starts a LocalCluster whose workers load the model and the OCR engine
def test_dask_runner_gives_the_local_runners_tables(local_tables, tmp_path):
    hashes, ctx = _refresh(_config_for(tmp_path), tmp_path, "dask", kind="dask", workers="2")
    print("dask runner stage seconds:", {k: round(v, 1) for k, v in ctx.seconds.items()})
    assert hashes == local_tables
    # the work really went through partitions on the workers, and the run closed its cluster
    assert ctx.stats["embed"]["embedded"] > 0 and ctx.stats["media"]["stored"] > 0
    assert ctx.resources._runner is None


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_stage_costs_only_its_partition(local_tables, tmp_path, monkeypatch):
    killed = tmp_path / "worker-killed"
    # the first worker to start the second embed partition is SIGKILLed there; its partition runs again elsewhere
    monkeypatch.setenv("ECHO_TEST_KILL_AT", f"partition.embed.1@{killed}")
    hashes, ctx = _refresh(_config_for(tmp_path), tmp_path, "dask-killed", kind="dask", workers="2")
    assert killed.exists()  # a worker did die
    assert hashes == local_tables
    with Store(tmp_path / "dask-killed.duckdb") as store:
        assert store.query("SELECT status FROM runs") == [{"status": "ok"}]
