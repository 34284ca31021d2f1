"""After `echo-bench forget`, no file under the data folder keeps the author's text, handle or prompt:
the analyst snapshots are rewritten without the forgotten rows and the run reports that showed them are
rebuilt (the newest) or deleted. Frozen releases and their exports are immutable and are left out."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
from test_report_helpers import _thumb, map_texts, seed_embeddings, seeded, write_config

from echo import cli, records
from echo.analyst.snapshot import open_snapshot, publish
from echo.report import html as report_html
from echo.store import Store

HANDLE = "mallory_quintessa"
TEXT = "gpt-4o made this for me: a crimson lighthouse knitted from wool, prompt below"
PROMPT = "a crimson lighthouse knitted from wool on a stormy coast"
URL = "https://example.invalid/x/p_mallory_777"
RUN_B = "20250402T000000Z-seed02"


def _seed(config, tmp_path) -> str:
    store, run_a = seeded(config, tmp_path)
    with store:
        store.upsert("posts", [records.Post(platform="x", post_id="p_mallory_777", author=HANDLE, author_id="id-777",
                                            text=TEXT, url=URL, root_id="p_mallory_777", source="samples",
                                            created_at=dt.datetime(2025, 4, 9, tzinfo=dt.UTC))])
        sid = records.sample_id("x", "p_mallory_777")
        out_url = "https://example.invalid/media/mallory-out.png"
        rel, sha = _thumb(config.path("media_dir"), "mallory_out", (200, 20, 40))
        store.upsert("media", [records.Media(url=out_url, status="ok", sha256=sha, path="mallory.png", thumb_path=rel)])
        store.upsert("samples", [records.Sample(
            sample_id=sid, platform="x", root_id="p_mallory_777", anchor_post_id="p_mallory_777", prompt=PROMPT,
            prompt_modified=False, task="text_to_image", quality="benchmark", input_media=[], output_media=[out_url],
            extractor="rules", extractor_version="rules.v1", run_id=run_a,
            created_at=dt.datetime(2025, 4, 9, tzinfo=dt.UTC))])
        store.upsert("clusters", [records.ClusterAssignment(clustering_id="c1", sample_id=sid, cluster_id=1,
                                                            label="neon / cyberpunk", x=1.0, y=1.0)])
        seed_embeddings(store, config, map_texts(store, config))
        # two runs, each with its snapshot and its report (the older report is a per-run file only)
        for run_id in (run_a, RUN_B):
            if run_id == RUN_B:
                store.upsert("runs", [records.Run(run_id=RUN_B, started_at=dt.datetime(2025, 4, 2, tzinfo=dt.UTC),
                                                  status="ok", trigger="cli", params={}, stage_stats={})])
            publish(store, config, run_id)
            report_html.build_report(store, config, run_id)
    return run_a


def _traces_in(path: Path) -> list[str]:
    """Which of the handle, text, prompt and URL a file holds: raw bytes, Parquet decoded, HTML unescaped."""
    data = path.read_bytes()
    texts = [data.decode("utf-8", "replace")]
    if path.suffix == ".parquet":
        texts.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
    if path.suffix == ".html":  # plotly's JSON escapes, HTML entities, hover line breaks
        t = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), texts[0])
        texts.append(" ".join(html.unescape(t).replace("<br>", " ").split()))
    return [n for n in (HANDLE, TEXT[:40], PROMPT[:40], URL) if any(n in t for t in texts)]


def _scan(root: Path) -> dict[str, list[str]]:
    skip = {"releases", "exports", "refs"}  # frozen releases are immutable; refs are the reference prompts
    return {p.relative_to(root).as_posix(): hits for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in skip and (hits := _traces_in(p))}


def test_forget_leaves_no_trace_in_snapshots_and_reports(config, tmp_path, capsys):
    run_a = _seed(config, tmp_path)
    cfg_file = write_config(config, tmp_path / "echo.toml")
    before = _scan(tmp_path)
    # the traces are there before: in both snapshots, both reports and the live database
    assert {f for f in before if f.startswith("analyst/snapshots/")} >= {
        f"analyst/snapshots/{run_a}/tables/posts.parquet", f"analyst/snapshots/{RUN_B}/tables/samples.parquet"}
    assert {f"reports/{run_a}.html", f"reports/{RUN_B}.html", "reports/latest.html"} <= set(before)
    assert PROMPT[:40] in before[f"reports/{run_a}.html"]

    assert cli.main(["--config", str(cfg_file), "forget", "--author", HANDLE]) == 0
    out = capsys.readouterr().out
    assert "rewrote 2 analyst snapshot(s)" in out and "rebuilt the newest report" in out
    assert _scan(tmp_path) == {}
    # history is kept: both snapshots are still there, without the forgotten rows, and still queryable
    con = open_snapshot(config)
    assert con.sql("SELECT count(*) FROM posts WHERE author = ?", params=[HANDLE]).fetchone() == (0,)
    assert con.sql("SELECT count(*) FROM samples").fetchone()[0] == 11
    con.close()
    assert (tmp_path / "analyst" / "snapshots" / run_a / "tables" / "posts.parquet").is_file()
    assert pq.read_table(tmp_path / "analyst" / "snapshots" / run_a / "tables" / "samples.parquet").num_rows == 11
    snap = json.loads((tmp_path / "analyst" / "snapshots" / run_a / "snapshot.json").read_text())
    assert snap["tables"]["samples"] == 11 and snap["rewritten"][0]["why"] == "takedown"
    # the newest report is rebuilt (and latest.html with it); the older per-run report that showed it is gone
    assert (tmp_path / "reports" / f"{RUN_B}.html").is_file() and (tmp_path / "reports" / "latest.html").is_file()
    assert not (tmp_path / "reports" / f"{run_a}.html").exists()
    # a second forget of the same author finds nothing anywhere and changes nothing
    assert cli.main(["--config", str(cfg_file), "forget", "--author", HANDLE]) == 0
    assert "rewrote" not in capsys.readouterr().out


def test_rewrite_reads_a_snapshot_older_than_the_schema(config):
    """A snapshot written before a column existed loads with that column NULL and is rewritten whole."""
    from echo.analyst.snapshot import rewrite_snapshots

    with Store(config.path("db")) as store:
        store.upsert("posts", [records.Post(platform="x", post_id=str(i), author=f"user{i}", text=f"post {i}",
                                            source="samples") for i in range(3)])
        folder = publish(store, config, "run-old")
    posts = folder / "tables" / "posts.parquet"
    pq.write_table(pq.read_table(posts).drop_columns(["author_id"]), posts)  # as an older echo wrote it

    def drop_user1(store: Store) -> bool:
        return store.delete("posts", "author = 'user1'") > 0

    assert rewrite_snapshots(config, drop_user1) == [folder]
    rows = pq.read_table(posts).to_pylist()
    assert sorted((r["post_id"], r["author"], r["author_id"]) for r in rows) == [("0", "user0", None), ("2", "user2", None)]
    assert rewrite_snapshots(config, drop_user1) == []  # nothing left to change: the files stay as they are
    assert not list(folder.parent.glob(".*rewrite*"))  # the scratch database is gone
