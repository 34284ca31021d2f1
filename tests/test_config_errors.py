"""Settings that are refused instead of accepted silently, and one-line errors (exit 2, no traceback) from the CLI."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from echo.cli import main
from echo.config import ConfigError, LLMSettings, load_config, runtime_env_names
from echo.sources.registry import ALL_KINDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    f = tmp_path / "echo.toml"
    f.write_text(f'[paths]\ndata_dir = "{tmp_path}"\ndb = "{tmp_path / "db" / "echo.duckdb"}"\n')
    return f


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


# --- environment variables ------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("ECHO_LLM_NOPE", "echo-bench: config error: environment variable ECHO_LLM_NOPE is not a setting; "
                      "did you mean ECHO_LLM_MODEL? [llm] keys: "
                      + ", ".join(f.name for f in dataclasses.fields(LLMSettings))),
    ("ECHO_MEDIAA_MAX_BYTES", "echo-bench: config error: environment variable ECHO_MEDIAA_MAX_BYTES is not a "
                              "setting; did you mean ECHO_MEDIA_MAX_BYTES? ECHO_<SECTION>_<KEY> overrides a "
                              "setting, sections: paths, schedule, filter, llm, media, embed, dedup, cluster, "
                              "release, report, runner; other variables: "),
])
def test_misspelt_environment_override_is_refused(name, expected, cfg_file, monkeypatch, capsys):
    monkeypatch.setenv(name, "1")
    assert main(["--config", str(cfg_file), "config"]) == 2
    line = _one_line_error(capsys)
    assert line.startswith(expected)
    if name == "ECHO_MEDIAA_MAX_BYTES":  # the rest of the line lists every other variable
        assert line[len(expected):].split(", ") == list(runtime_env_names())


def test_known_secret_credential_and_runtime_variables_pass(cfg_file):
    env = {name: "x" for name in runtime_env_names()} | {"ECHO_CONFIG": str(cfg_file), "ECHO_LLM_MODEL": "m"}
    assert load_config(None, env=env).llm.model == "m"
    assert {"ECHO_CONFIG", "ECHO_LLM_API_KEY", "ECHO_PSEUDONYM_SALT", "ECHO_X_BEARER_TOKEN",
            "ECHO_BLUESKY_APP_PASSWORD", "ECHO_REDDIT_CLIENT_SECRET", "ECHO_MASTODON_TOKEN"} <= set(env)


def test_every_echo_variable_the_code_reads_is_known():
    """A new ECHO_* read somewhere must be added to config.RUNTIME_ENV (or a source kind), or users setting it
    would be refused."""
    from echo.config import Config, _override_keys

    known = set(runtime_env_names()) | set(_override_keys(Config()))
    found = set()
    for folder in ("echo", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"\bECHO_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    # the override pattern and examples written in prose are not variables the code reads
    found -= {"ECHO_PATHS_", "ECHO_SECTION", "ECHO_KEY"}
    assert found and found <= known, found - known


# --- values -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("toml, env, message", [
    ("[media]\nconcurrency = 8.7\n", {}, "media.concurrency: expected an integer, got 8.7"),
    ("", {"ECHO_MEDIA_CONCURRENCY": "8.7"}, "ECHO_MEDIA_CONCURRENCY: expected an integer, got '8.7'"),
    ("[media]\nmax_retries = true\n", {}, "media.max_retries: expected an integer, got True"),
    ("[media]\ntimeout_s = true\n", {}, "media.timeout_s: expected a number, got True"),
    ("", {"ECHO_FILTER_KEYWORDS": '["4o", "gpt'},
     'ECHO_FILTER_KEYWORDS: not valid JSON (Unterminated string starting at: line 1 column 8 (char 7)); '
     'expected a JSON list (["a", "b"]) or a, b'),
    ("", {"ECHO_FILTER_LANGUAGES": '{"en"}'}, "ECHO_FILTER_LANGUAGES: not valid JSON"),
    ("[media]\nmax_bytes = -1\n", {}, "media.max_bytes must be >= 1, got -1"),
    ("", {"ECHO_MEDIA_MAX_PIXELS": "0"}, "media.max_pixels (from ECHO_MEDIA_MAX_PIXELS) must be >= 1, got 0"),
    ("[media]\ntimeout_s = 0\n", {}, "media.timeout_s must be > 0, got 0.0"),
    ("[llm]\nconcurrency = 0\n", {}, "llm.concurrency must be >= 1, got 0"),
    ("[llm]\nmax_retries = -2\n", {}, "llm.max_retries must be >= 0, got -2"),
    ("[dedup]\ntext_threshold = 1.5\n", {}, "dedup.text_threshold must be > 0 and <= 1, got 1.5"),
    ("[filter]\nrelevance_threshold = 6\n", {}, "filter.relevance_threshold must be >= 1 and <= 5, got 6"),
    ('[[sources]]\nname = "x"\nkind = "x"\ntimeout_s = -1\n', {},
     "sources[0] ('x').timeout_s must be > 0, got -1.0"),
    ('[[sources]]\nname = "x"\nkind = "x"\nmax_retries = -1\n', {},
     "sources[0] ('x').max_retries must be >= 0, got -1"),
    ('[[sources]]\nname = "tw"\nkind = "twitter"\n', {},
     f"sources[0] ('tw'): unknown kind 'twitter'; one of: {', '.join(ALL_KINDS)}"),
])
def test_bad_values_are_refused(toml, env, message, tmp_path):
    f = tmp_path / "echo.toml"
    f.write_text(toml)
    with pytest.raises(ConfigError) as e:
        load_config(f, env=env)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_good_values_still_load(tmp_path):
    f = tmp_path / "echo.toml"
    f.write_text("[media]\nmax_bytes = 2e7\ntimeout_s = 5\n[filter]\nrelevance_threshold = 3\n")
    env = {"ECHO_FILTER_KEYWORDS": "4o, gpt image", "ECHO_FILTER_LANGUAGES": '["en", "de"]',
           "ECHO_MEDIA_CONCURRENCY": " 3 ", "ECHO_LLM_TEMPERATURE": "0.5", "ECHO_MEDIA_OCR": "false"}
    cfg = load_config(f, env=env)
    assert (cfg.media.max_bytes, cfg.media.timeout_s, cfg.media.concurrency, cfg.media.ocr) == (20_000_000, 5.0, 3, False)
    assert cfg.filter.keywords == ["4o", "gpt image"] and cfg.filter.languages == ["en", "de"]
    assert (cfg.llm.temperature, cfg.filter.relevance_threshold) == (0.5, 3)
    load_config(ROOT / "echo.toml", env={})  # the shipped file is within every range


# --- where the config is ----------------------------------------------------------------------------


def test_no_config_file_anywhere_is_an_error_that_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["config"]) == 2
    assert _one_line_error(capsys) == (
        f"echo-bench: config error: no config file: no echo.toml in {tmp_path} and $ECHO_CONFIG is not set; "
        "pass --config FILE or set ECHO_CONFIG=FILE")
    assert main(["stages"]) == 0  # a command that reads no config still works
    (tmp_path / "echo.toml").write_text("")
    assert main(["config"]) == 0


def test_config_path_that_is_a_folder_or_missing(tmp_path, monkeypatch, capsys):
    assert main(["--config", str(tmp_path), "config"]) == 2
    assert _one_line_error(capsys) == (
        f"echo-bench: config error: config path {tmp_path} is a folder, not a file; it holds no echo.toml")
    (tmp_path / "echo.toml").write_text("")
    assert main(["--config", str(tmp_path), "config"]) == 2
    assert _one_line_error(capsys) == (f"echo-bench: config error: config path {tmp_path} is a folder, not a file; "
                                       f"did you mean {tmp_path / 'echo.toml'}?")
    assert main(["--config", str(tmp_path / "nope.toml"), "config"]) == 2
    assert _one_line_error(capsys) == f"echo-bench: config error: config file {tmp_path / 'nope.toml'} does not exist"
    monkeypatch.setenv("ECHO_CONFIG", str(tmp_path / "gone.toml"))
    assert main(["config"]) == 2
    assert _one_line_error(capsys) == (
        f"echo-bench: config error: config file {tmp_path / 'gone.toml'} (from $ECHO_CONFIG) does not exist")


# --- the database -----------------------------------------------------------------------------------


def _drop_root_file_powers() -> None:
    """In a child about to exec: give up CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, so root obeys
    permission bits like any user (the program then runs without them)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_read_only_database_folder(tmp_path):
    """Refused before DuckDB opens the file (it would open, then fail at the first commit writing its .wal)."""
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    cfg = tmp_path / "echo.toml"
    cfg.write_text(f'[paths]\ndata_dir = "{tmp_path}"\ndb = "{db_dir / "echo.duckdb"}"\n')
    from echo.store import Store

    with Store(db_dir / "echo.duckdb"):
        pass
    db_dir.chmod(0o555)  # the file itself stays writable: DuckDB would open it
    code = f"import sys; from echo.cli import main; sys.exit(main(['--config', {str(cfg)!r}, 'refresh', '-q']))"
    try:
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300,
                             preexec_fn=_drop_root_file_powers if os.geteuid() == 0 else None)
    finally:
        db_dir.chmod(0o755)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.stderr.splitlines() == [
        f"echo-bench: the database folder {db_dir} is not writable by this user, so echo.duckdb cannot be written; "
        "point [paths] db (or ECHO_PATHS_DB) at a writable folder, or use a read-only command (echo-bench sql)"]


HOLDER = textwrap.dedent("""
    import sys
    from echo import runlock
    from echo.store import Store

    with runlock.refresh_lock(sys.argv[1], command="echo-bench refresh"), Store(sys.argv[1]) as store:
        print("holding", flush=True)
        sys.stdin.readline()
""")


@pytest.fixture
def refresh_running(cfg_file, tmp_path):
    """A second process that holds the refresh lock and the database open for writing, like a refresh."""
    db = tmp_path / "db" / "echo.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(timeout=60)


HOLDER_LINE = re.compile(r"echo-bench: (?P<db>\S+) is busy: a refresh is running \(PID (?P<pid>\d+), "
                         r"'echo-bench refresh', started (?P<started>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)\); "
                         r"(?P<advice>.*)")


def test_second_refresh_names_the_running_one_and_can_wait(refresh_running, cfg_file, tmp_path, capsys):
    db = tmp_path / "db" / "echo.duckdb"
    args = ["--config", str(cfg_file), "refresh", "-q", "--only", "crawl"]
    assert main(args) == 2
    m = HOLDER_LINE.fullmatch(_one_line_error(capsys))
    assert m and m["db"] == str(db) and int(m["pid"]) == refresh_running.pid
    assert m["advice"] == "pass --wait to queue behind it"

    # other write commands find the database itself locked and say the same
    sample = ROOT / "data" / "samples" / "x"
    assert main(["--config", str(cfg_file), "import", str(next(sample.glob("*.json")))]) == 2
    m2 = HOLDER_LINE.fullmatch(_one_line_error(capsys))
    assert m2 and int(m2["pid"]) == refresh_running.pid and m2["started"] == m["started"]
    assert m2["advice"] == "run this again when it has finished"

    # --wait queues behind it, and runs once it has finished
    result = {}
    waiter = threading.Thread(target=lambda: result.setdefault("code", main([*args, "--wait"])))
    waiter.start()
    err = ""
    deadline = time.monotonic() + 60
    while "waiting" not in err and time.monotonic() < deadline:
        time.sleep(0.1)
        err += capsys.readouterr().err
    assert err.startswith(f"echo-bench: waiting: a refresh is running (PID {refresh_running.pid}, "
                          "'echo-bench refresh', started ")
    assert waiter.is_alive() and refresh_running.poll() is None
    refresh_running.stdin.close()
    refresh_running.wait(timeout=60)
    waiter.join(timeout=300)
    assert result == {"code": 0}
    from echo.store import Store

    with Store(db, read_only=True) as store:
        assert [r["status"] for r in store.query("SELECT status FROM runs")] == ["ok"]
    assert (db.parent / "echo.duckdb.refresh.lock").read_text() == ""  # released, no stale holder


def test_a_crashed_refresh_leaves_no_lock(cfg_file, tmp_path, capsys):
    db = tmp_path / "db" / "echo.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "holding"
    proc.kill()
    proc.wait(timeout=60)
    assert "echo-bench refresh" in (db.parent / "echo.duckdb.refresh.lock").read_text()  # its name is left ...
    from echo import runlock

    assert runlock.refresh_holder(db) is None  # ... but nobody holds the lock
    assert main(["--config", str(cfg_file), "refresh", "-q", "--only", "crawl"]) == 0
