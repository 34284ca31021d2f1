"""Analysts query the snapshot while a refresh holds the live database's writer lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from echo import records
from echo.analyst.snapshot import open_snapshot, publish
from echo.cli import main as cli_main
from echo.runlock import DatabaseUnavailable
from echo.store import Store


def _seed(store: Store, n: int, source: str = "samples") -> None:
    store.upsert("posts", [{"platform": "x", "post_id": str(i), "source": source, "query": "q"} for i in range(n)])


def test_snapshot_has_every_table_and_documented_views(config):
    with Store(config.path("db")) as store:
        _seed(store, 3)
        publish(store, config, "run-a")
    con = open_snapshot(config)
    assert con.sql("SELECT count(*) FROM posts").fetchone()[0] == 3
    assert con.sql("SELECT posts FROM crawl_funnel").fetchall() == [(3,)]
    views = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    assert {"samples_with_feedback", "duplicate_groups", "cluster_summary", "crawl_funnel",
            "llm_usage_per_run", "release_contents", "posts", "samples"} <= views
    with pytest.raises(duckdb.Error):  # read-only
        con.execute("DELETE FROM posts")


def test_a_new_snapshot_links_the_tables_that_did_not_change(config):
    with Store(config.path("db")) as store:
        _seed(store, 3)
        first = publish(store, config, "run-a")
        store.upsert("samples", [records.Sample(sample_id="s1", platform="x", root_id="0", anchor_post_id="0",
                                                prompt="a cat", prompt_modified=False, quality="benchmark",
                                                extractor="rules", extractor_version="r1")])
        second = publish(store, config, "run-b")
    same, changed = first / "tables" / "posts.parquet", first / "tables" / "samples.parquet"
    assert (second / "tables" / "posts.parquet").stat().st_ino == same.stat().st_ino
    assert (second / "tables" / "samples.parquet").stat().st_ino != changed.stat().st_ino
    con = open_snapshot(config)
    assert con.sql("SELECT count(*) FROM posts").fetchone()[0] == 3
    assert con.sql("SELECT sample_id, prompt FROM samples").fetchall() == [("s1", "a cat")]
    with pytest.raises(duckdb.Error):  # a linked file is still read-only to analysts
        con.execute("DELETE FROM posts")


def test_queries_succeed_while_a_refresh_holds_the_writer(config, tmp_path):
    db = config.path("db")
    with Store(db) as store:
        _seed(store, 5)
        publish(store, config, "run-a")

    # Another process plays the nightly refresh: holds the writer, writes for a while, then publishes.
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from echo.config import Config
        from echo.store import Store
        from echo.analyst.snapshot import publish
        cfg = Config()
        cfg.paths.db, cfg.paths.analyst_dir, cfg.paths.parquet_dir = {str(db)!r}, {str(config.path("analyst_dir"))!r}, {str(config.path("parquet_dir"))!r}
        with Store(cfg.path("db")) as s:
            print("holding", flush=True)
            for i in range(5, 45):
                s.upsert("posts", [{{"platform": "x", "post_id": str(i), "source": "samples", "query": "q"}}])
                time.sleep(0.05)
            publish(s, cfg, "run-b")
            print("published", flush=True)
    """)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "holding"

    # The live database is locked for everyone else ...
    with pytest.raises(DatabaseUnavailable, match="snapshot"):
        Store(db, read_only=True)
    # ... but the snapshot answers, repeatedly, during the refresh.
    seen = set()
    deadline = time.monotonic() + 60
    while writer.poll() is None and time.monotonic() < deadline:
        con = open_snapshot(config)
        seen.add(con.sql("SELECT count(*) FROM posts").fetchone()[0])
        con.close()
        time.sleep(0.05)
    assert writer.wait(60) == 0
    assert 5 in seen
    # After the refresh, the new snapshot is current.
    assert open_snapshot(config).sql("SELECT count(*) FROM posts").fetchone()[0] == 45


def test_sql_command_prints_results_and_errors(config, capsys, monkeypatch, tmp_path):
    with Store(config.path("db")) as store:
        _seed(store, 2)
        publish(store, config, "run-a")
    toml = tmp_path / "echo.toml"
    toml.write_text(f'[paths]\nanalyst_dir = "{config.path("analyst_dir")}"\n')
    assert cli_main(["--config", str(toml), "sql", "--format", "csv", "SELECT source, posts FROM crawl_funnel"]) == 0
    assert capsys.readouterr().out.splitlines() == ["source,posts", "samples,2"]
    assert cli_main(["--config", str(toml), "sql", "SELECT * FROM no_such_table"]) == 1
    assert "no_such_table" in capsys.readouterr().err
