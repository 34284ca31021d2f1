"""Freeze and export survive a kill -9 at every step: recovery rolls each crash forward or back, and the next
run ends where a clean run ends (same releases row, same files, the export loadable, nothing left over).

Each test runs the freeze stage's call (freeze + HF export) in a subprocess that SIGKILLs itself at a named
point (ECHO_TEST_KILL_AT, echo.killpoints), then runs recover() and the same call again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import echo
from echo.config import load_config
from echo.release.freeze import freeze
from echo.release.recover import recover
from echo.release.verify import sha256_file, verify_release
from echo.store import Store
from test_release_support import add_sample, build_small_db

ROOT = Path(__file__).resolve().parent.parent
SALT = "crash-test-salt"
RUN = "run-crash"
KILL_POINTS = ["freeze.partial_tmp", "freeze.tmp_written", "freeze.after_intent", "freeze.after_rename",
               "freeze.after_row", "export.tmp_written", "export.after_rename"]

FREEZE = textwrap.dedent("""
    import sys
    from echo.config import load_config
    from echo.release.freeze import freeze
    from echo.store import Store
    cfg = load_config(sys.argv[1])
    with Store(cfg.path("db")) as store:
        freeze(store, cfg, None, run_id=sys.argv[2], only_if_changed=True, export=True)
""")


def _setup(base: Path, monkeypatch) -> Path:
    """A data folder with the small database and a config file naming it."""
    monkeypatch.setenv("ECHO_PSEUDONYM_SALT", SALT)
    base.mkdir(parents=True, exist_ok=True)
    cfg_file = base / "echo.toml"
    cfg_file.write_text("[paths]\n" + "".join(f'{k} = "{base / v}"\n' for k, v in (
        ("data_dir", "."), ("db", "echo.duckdb"), ("media_dir", "media"), ("releases_dir", "releases"),
        ("exports_dir", "exports"), ("analyst_dir", "analyst"), ("parquet_dir", "parquet"),
        ("reports_dir", "reports"))))
    cfg = load_config(cfg_file, env={})
    with Store(cfg.path("db")) as store:
        build_small_db(store, cfg)
    return cfg_file


def _run_freeze(cfg_file: Path, kill_at: str | None = None) -> int:
    env = {**os.environ, "ECHO_PSEUDONYM_SALT": SALT}
    env.pop("ECHO_TEST_KILL_AT", None)
    if kill_at:
        env["ECHO_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", FREEZE, str(cfg_file), RUN], env=env, cwd=ROOT,
                          timeout=600).returncode


def _state(cfg_file: Path) -> dict:
    """What a run leaves: the releases table (paths relative, freeze time left out), every file's sha256."""
    cfg = load_config(cfg_file, env={})
    base = cfg_file.parent
    with Store(cfg.path("db"), read_only=True) as store:
        rows = store.query("SELECT * EXCLUDE (created_at) FROM releases ORDER BY version")
    for r in rows:
        r["path"] = str(Path(r["path"]).relative_to(base))
    files = {}
    for top in ("releases", "exports"):
        for p in sorted((base / top).rglob("*")):
            if p.is_file():
                files[p.relative_to(base).as_posix()] = sha256_file(p)
    leftovers = sorted(p.relative_to(base).as_posix() for top in ("releases", "exports")
                       for p in (base / top).rglob("*") if ".tmp" in p.name or p.name.startswith(".intent"))
    return {"rows": rows, "files": files, "leftovers": leftovers}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        cfg_file = _setup(tmp_path_factory.mktemp("clean"), mp)
        assert _run_freeze(cfg_file) == 0
        return _state(cfg_file)
    finally:
        mp.undo()


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_at_each_point_then_recover_ends_like_a_clean_run(point, clean, tmp_path, monkeypatch):
    cfg_file = _setup(tmp_path / "data", monkeypatch)
    assert _run_freeze(cfg_file, kill_at=point) == -signal.SIGKILL, f"the run did not reach {point}"
    cfg = load_config(cfg_file, env={})
    with Store(cfg.path("db")) as store:
        done = recover(store, cfg)
        assert recover(store, cfg) == []  # idempotent: a second pass finds nothing to do
        again = freeze(store, cfg, None, run_id=RUN, only_if_changed=True, export=True)
    if point in ("freeze.partial_tmp", "freeze.tmp_written"):
        assert again is not None and any("removed" in d for d in done)  # rolled back, then frozen once
    else:
        assert again is None and done  # rolled forward: the re-run sees the same content and freezes nothing
    state = _state(cfg_file)
    assert state["leftovers"] == [] and clean["leftovers"] == []
    assert state["rows"] == clean["rows"] and len(state["rows"]) == 1
    assert state["files"] == clean["files"]
    version = state["rows"][0]["version"]
    verify_release(cfg.path("releases_dir") / version, expected_manifest_sha256=state["rows"][0]["manifest_sha256"],
                   expected_content_hash=state["rows"][0]["content_hash"])
    ds = echo.load(str(cfg.path("exports_dir") / version / "hf"), "text_to_image", as_dataset=True)
    assert sorted(ds["id"]) == ["s_city1", "s_fox", "s_robot"]


def test_recover_is_cheap_and_silent_when_nothing_is_wrong(tmp_path, monkeypatch):
    cfg_file = _setup(tmp_path / "data", monkeypatch)
    cfg = load_config(cfg_file, env={})
    with Store(cfg.path("db")) as store:
        assert recover(store, cfg) == []  # no releases yet
        freeze(store, cfg, "v1", run_id=RUN, export=True)
        assert recover(store, cfg) == []


def test_recover_repairs_state_left_by_hand_or_by_older_versions(tmp_path, monkeypatch):
    """No journal: a folder without its row, a row without its folder, a forged folder, stray tmp folders
    of dead processes, and the newest release of a refresh without its export."""
    import shutil

    cfg_file = _setup(tmp_path / "data", monkeypatch)
    cfg = load_config(cfg_file, env={})
    rd, ed = cfg.path("releases_dir"), cfg.path("exports_dir")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    with Store(cfg.path("db")) as store:
        v1 = freeze(store, cfg, "v1")
        add_sample(store, "s_extra", "x", "1900000000000000008", "a lighthouse in fog")
        v2 = freeze(store, cfg, "v2")
        row = store.query("SELECT * FROM releases WHERE version = 'v1'")[0]
        store.execute("DELETE FROM releases WHERE version = 'v1'")  # as an older echo killed before the row
        for p in v2.path.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.copytree(v2.path, tmp_path / "backup-v2")
        shutil.rmtree(v2.path)  # deleted by hand
        shutil.copytree(v1.path, rd / "v3")  # a copy under another name: fails verification
        (rd / f".tmp-v4-{dead}").mkdir()
        (ed / "v1" / f".hf.tmp-abcd-{dead}").mkdir(parents=True)
        done = recover(store, cfg)
        text = "\n".join(done)
        assert "v1: recorded the complete folder that had no releases row" in text
        assert "v2: folder missing" in text
        assert "v3: failed verification" in text and "version 'v1' but the folder is 'v3'" in text
        assert not (rd / "v3").exists() and [p.name[:3] for p in (rd / ".quarantine").iterdir()] == ["v3-"]
        assert f"removed stale release tmp folder {rd / f'.tmp-v4-{dead}'}" in done
        assert f"removed stale export tmp folder {ed / 'v1' / f'.hf.tmp-abcd-{dead}'}" in done
        assert len(done) == 5
        rows = {r["version"]: r for r in store.query("SELECT * FROM releases")}
        assert rows["v2"]["status"] == "missing"
        got = rows["v1"]
        same = ("version", "parent_version", "path", "content_hash", "config_hash", "code_version", "manifest_sha256")
        assert {k: got[k] for k in same} == {k: row[k] for k in same} and got["status"] == "ok"
        assert json.loads(got["manifest"]) == json.loads(row["manifest"])
        assert recover(store, cfg) == []
        # v2 comes back from a backup: marked ok again
        shutil.copytree(tmp_path / "backup-v2", v2.path)
        assert recover(store, cfg) == [f"v2: folder restored at {v2.path}; marked ok"]

        # a refresh froze v5 and was killed before its export (an older echo had no journal for it)
        add_sample(store, "s_more", "x", "1900000000000000008", "a bridge made of glass")
        freeze(store, cfg, "v5", run_id=RUN)
        assert recover(store, cfg) == [f"v5: made the missing Hugging Face export at {ed / 'v5' / 'hf'}"]
        assert sorted(echo.load(str(ed / "v5" / "hf"), "text_to_image").column("id").to_pylist()) == [
            "s_city1", "s_extra", "s_fox", "s_more", "s_robot"]
        assert recover(store, cfg) == []
        freeze(store, cfg, "v6")  # frozen by hand: exported by hand, not by recovery
        assert recover(store, cfg) == []


def test_tmp_folder_of_a_live_process_is_kept(tmp_path, monkeypatch):
    cfg_file = _setup(tmp_path / "data", monkeypatch)
    cfg = load_config(cfg_file, env={})
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = cfg.path("exports_dir") / "v9" / f".hf.tmp-abcd-{sleeper.pid}"
        live.mkdir(parents=True)
        with Store(cfg.path("db")) as store:
            assert recover(store, cfg) == []
        assert live.is_dir()
    finally:
        sleeper.kill()
        sleeper.wait()
    with Store(cfg.path("db")) as store:
        assert recover(store, cfg) == [f"removed stale export tmp folder {live}"]


def test_mark_interrupted_runs_whose_process_is_gone(tmp_path, monkeypatch):
    import datetime as dt
    import socket

    from echo.release.recover import mark_interrupted

    cfg_file = _setup(tmp_path / "data", monkeypatch)
    cfg = load_config(cfg_file, env={})
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    host = socket.gethostname()
    t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    try:
        with Store(cfg.path("db")) as store:
            store.upsert("runs", [
                {"run_id": "r-dead", "started_at": t, "status": "running", "pid": dead, "host": host},
                {"run_id": "r-alive", "started_at": t, "status": "running", "pid": sleeper.pid, "host": host},
                {"run_id": "r-other-host", "started_at": t, "status": "running", "pid": dead, "host": "elsewhere"},
                {"run_id": "r-legacy", "started_at": t, "status": "running"},
                {"run_id": "r-ok", "started_at": t, "status": "ok", "pid": dead, "host": host},
                {"run_id": "r-me", "started_at": t, "status": "running", "pid": os.getpid(), "host": host}])
            assert mark_interrupted(store, current_run_id="r-me") == ["r-dead", "r-legacy"]
            got = {r["run_id"]: (r["status"], r["error"]) for r in store.query("SELECT * FROM runs")}
            assert got["r-dead"][0] == "interrupted" and "process" in got["r-dead"][1]
            assert got["r-legacy"][0] == "interrupted"
            assert {k: got[k][0] for k in ("r-alive", "r-other-host", "r-ok", "r-me")} == {
                "r-alive": "running", "r-other-host": "running", "r-ok": "ok", "r-me": "running"}
            assert mark_interrupted(store, current_run_id="r-me") == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_cli_releases_repair(tmp_path, monkeypatch, capsys):
    from echo import cli

    cfg_file = _setup(tmp_path / "data", monkeypatch)
    assert _run_freeze(cfg_file, kill_at="freeze.after_rename") == -signal.SIGKILL
    assert cli.main(["--config", str(cfg_file), "releases"]) == 0
    assert capsys.readouterr().out == ""  # the folder is there, its row is not
    assert cli.main(["--config", str(cfg_file), "releases", "--repair"]) == 0
    out = capsys.readouterr().out.splitlines()
    version = load_config(cfg_file, env={}).path("releases_dir").glob("2*").__next__().name
    assert out[0] == f"repaired: {version}: wrote the releases row its killed freeze did not"
    assert out[1].startswith(f"repaired: {version}: made the missing Hugging Face export at ")
    assert out[2] == f"repaired: {version}: published (folder, releases row, export); intent cleared"
    assert out[3].startswith(f"{version:<16} parent=-") and "text_to_image=3" in out[3] and len(out) == 4
    assert cli.main(["--config", str(cfg_file), "releases", "--repair"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "nothing to repair"
