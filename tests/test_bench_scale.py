"""bench/scale_corpus.py: the end-to-end scale benchmark's corpus imports with the counts it claims,
its planted reposts share their prompts and images, --extra adds only new posts, and it is deterministic.
No timings here (those are bench/e2e_scale.py's, figures in BENCHMARKS.md)."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import sys
from pathlib import Path

import duckdb
import pytest
from PIL import Image

from bench import e2e_scale, scale_corpus
from echo.cli import main
from echo.media.fetch import mapped_path
from echo.media.store import perceptual_hash, phash_distance

POSTS = 300


def import_corpus(out: Path) -> None:
    assert main(["--config", str(out / "echo.toml"), "import", str(out / "corpus")]) == 0


def db(out: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(out / "data" / "echo.duckdb"), read_only=True)


def file_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def hit_ids(out: Path, files: list[str]) -> tuple[set[str], set[str]]:
    """(ids of the posts a batch's files carry as data, ids they carry only as context)."""
    hits, context = set(), set()
    for rel in files:
        path = out / "corpus" / rel
        if rel.startswith("x/"):
            for line in path.read_text(encoding="utf-8").splitlines():
                page = json.loads(line)
                hits |= {t["id"] for t in page["data"]}
                context |= {t["id"] for t in page["includes"].get("tweets", [])}
        else:
            def walk(node: dict) -> None:
                hits.add(node["post"]["uri"])
                for child in node.get("replies", []):
                    walk(child)
                if "parent" in node:  # getPostThread of a reply: its root comes as the parent
                    context.add(node["parent"]["post"]["uri"])
            for thread in json.loads(path.read_text(encoding="utf-8")):
                walk(thread["thread"])
    return hits, context - hits


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A 300-post corpus imported with `echo-bench import` into its run folder's database."""
    out = tmp_path_factory.mktemp("scale") / "run"
    scale_corpus.generate(out, POSTS, image_size=96)
    import_corpus(out)
    return out


def test_corpus_imports_with_the_counts_the_manifest_claims(corpus):
    manifest = scale_corpus.load_manifest(corpus)
    base = manifest["batches"][0]
    c = base["counts"]
    assert base["posts"] == POSTS == c["posts_x"] + c["posts_bluesky"] == c["roots"] + c["replies"]
    assert c["posts_x"] > c["posts_bluesky"] > 0
    assert sum(v for k, v in c.items() if k.startswith("trees_")) == c["roots"]
    assert {"trees_t2i_marker", "trees_i2i", "trees_other_model", "trees_off_topic", "trees_repost"} <= set(c)
    with db(corpus) as con:
        check_import(con, corpus, c)


def check_import(con: duckdb.DuckDBPyConnection, corpus: Path, c: dict) -> None:
    by_platform = dict(con.execute("SELECT platform, count(*) FROM posts GROUP BY platform").fetchall())
    assert by_platform == {"x": c["posts_x"], "bluesky": c["posts_bluesky"]}
    assert con.execute("SELECT count(*) FROM posts WHERE parent_id IS NOT NULL").fetchone()[0] == c["replies"]
    assert con.execute("SELECT count(*) FROM posts WHERE parent_id IS NULL AND root_id = post_id").fetchone()[0] == c["roots"]
    assert con.execute("SELECT count(*) FROM post_media").fetchone()[0] == c["post_media"]
    assert con.execute("SELECT count(*) FROM crawl_errors").fetchone()[0] == 0
    # every reply's parent and root are in the corpus
    assert con.execute("""SELECT count(*) FROM posts p WHERE parent_id IS NOT NULL AND NOT EXISTS
                          (SELECT 1 FROM posts q WHERE q.platform = p.platform AND q.post_id = p.parent_id)""").fetchone()[0] == 0
    # every image URL maps to a file in corpus/media through the run's url_map; distinct files as claimed
    urls = [r[0] for r in con.execute("SELECT url FROM post_media").fetchall()]
    url_map = {scale_corpus.MEDIA_PREFIX: corpus / "corpus" / "media"}
    files = {mapped_path(u, url_map) for u in urls}
    assert all(f is not None and f.is_file() for f in files)
    assert len(files) == c["distinct_image_files"]
    assert len(set(urls)) == len(urls)  # a reused file still gets its own URL


def test_reposts_share_their_source_prompt_and_image(corpus):
    rows = [json.loads(line) for line in (corpus / "corpus" / "reposts.jsonl").read_text().splitlines()]
    c = scale_corpus.load_manifest(corpus)["batches"][0]["counts"]
    assert len(rows) == c["trees_repost"] > 0
    with db(corpus) as con:
        check_reposts(con, corpus, rows)


def check_reposts(con: duckdb.DuckDBPyConnection, corpus: Path, rows: list[dict]) -> None:
    text = dict(con.execute("SELECT post_id, text FROM posts").fetchall())
    alts = dict(con.execute("SELECT post_id, string_agg(coalesce(alt_text, ''), ' ') FROM post_media GROUP BY post_id").fetchall())
    media = corpus / "corpus" / "media"
    for r in rows:
        assert r["prompt"] in text[r["root"]]
        # the source root (or its alt text, or the author's reply) carries the source prompt
        src = text[r["source_root"]] + " " + (alts.get(r["source_root"]) or "")
        replies = [t for (t,) in con.execute("SELECT text FROM posts WHERE parent_id = ?", [r["source_root"]]).fetchall()]
        assert r["source_prompt"] in src or any(r["source_prompt"] in t for t in replies)
        if r["verbatim"]:
            assert r["prompt"] == r["source_prompt"]
        else:
            assert r["prompt"] != r["source_prompt"]
            assert difflib.SequenceMatcher(None, r["prompt"], r["source_prompt"]).ratio() > 0.75
        if r["source_image"]:
            if r["same_image"]:
                assert r["image"] == r["source_image"]
            else:
                with Image.open(media / r["image"]) as a, Image.open(media / r["source_image"]) as b:
                    assert phash_distance(perceptual_hash(a), perceptual_hash(b)) <= 6


def test_extra_adds_only_new_posts_and_is_deterministic(tmp_path):
    out = tmp_path / "run"
    scale_corpus.generate(out, POSTS, image_size=96)
    before = file_hashes(out / "corpus")
    import_corpus(out)
    with db(out) as con:
        base_ids = {r[0] for r in con.execute("SELECT post_id FROM posts").fetchall()}

    manifest = scale_corpus.add_extra(out, 10)
    extra = manifest["batches"][1]
    assert extra["name"] == "extra01" and extra["posts"] == 30
    assert all(f.split("/")[1].startswith("extra01_") for f in extra["files"])
    hits, context = hit_ids(out, extra["files"])
    assert len(hits) == 30 and not hits & base_ids
    assert context and context <= base_ids  # replies to earlier trees bring their root as context
    assert extra["counts"]["late_replies"] == 6
    import_corpus(out)
    with db(out) as con:
        after = {r[0] for r in con.execute("SELECT post_id FROM posts").fetchall()}
        newest_old = con.execute("SELECT max(created_at) FROM posts WHERE list_contains(?, post_id)",
                                 [sorted(base_ids)]).fetchone()[0]
        oldest_new = con.execute("SELECT min(created_at) FROM posts WHERE list_contains(?, post_id)",
                                 [sorted(hits)]).fetchone()[0]
    assert after == base_ids | hits
    # new roots are dated after the base window (base replies may trail its last day by hours)
    assert oldest_new >= newest_old - dt.timedelta(days=1)
    first_extra = file_hashes(out / "corpus")

    # back to the base, byte for byte; the same --extra again gives the same bytes
    scale_corpus.reset_extra(out)
    assert file_hashes(out / "corpus") == before
    scale_corpus.add_extra(out, 10, jobs=2)
    assert file_hashes(out / "corpus") == first_extra

    # a second generator run with the same settings writes the same corpus, images drawn by 2 processes or 1
    again = tmp_path / "again"
    scale_corpus.generate(again, POSTS, image_size=96, jobs=2)
    assert file_hashes(again / "corpus") == before


# --- bench/e2e_scale.py's measurements -------------------------------------------------------------

ALLOCATE = "import sys, time; block = bytearray(int(sys.argv[1]) * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(float(sys.argv[2]))"


def test_peak_rss_is_the_childs_own_not_the_parents(tmp_path):
    parent_block = bytearray(400 * 2**20)  # the benchmark process itself holds 400 MB
    parent_block[::4096] = b"y" * len(parent_block[::4096])
    m = e2e_scale.run_measured([sys.executable, "-c", ALLOCATE, "150", "0.3"], cwd=tmp_path, env=None,
                               log_path=tmp_path / "child.log", sample_s=0.05)
    assert m.exit_code == 0 and m.killed_at_kb == 0
    assert 150 * 1024 < m.peak_rss_kb < 300 * 1024
    assert m.samples and max(s[1] for s in m.samples) > 150 * 1024
    small = e2e_scale.run_measured([sys.executable, "-c", ALLOCATE, "10", "0"], cwd=tmp_path, env=None,
                                   log_path=tmp_path / "small.log", sample_s=0.05)
    assert small.peak_rss_kb < 100 * 1024  # not the earlier, bigger child's peak (RUSAGE_CHILDREN would say 150+)
    del parent_block


def test_a_child_past_the_rss_limit_is_killed(tmp_path):
    m = e2e_scale.run_measured([sys.executable, "-c", ALLOCATE, "300", "30"], cwd=tmp_path, env=None,
                               log_path=tmp_path / "child.log", sample_s=0.05, rss_limit_kb=100 * 1024)
    assert m.exit_code == -9
    assert m.killed_at_kb > 100 * 1024


def test_stage_attribution_and_the_stage_a_killed_run_died_in():
    run = {"status": "running", "started_epoch": 100.0,
           "stage_stats": {"crawl": {"seconds": 10.0, "posts_new": 5}, "filter": {"seconds": 5.0}}}
    samples = [(99.0, 100_000, 1.0), (105.0, 200_000, 6.0), (112.0, 150_000, 9.0), (130.0, 900_000, 20.0)]
    died = e2e_scale.unfinished_stage(run, skip=["filter"])
    assert died == "prefilter"
    assert e2e_scale.attribute(samples, run, 98.0, 131.0, died) == {
        "startup": {"peak_rss_mb": 97.7, "cpu_s_sampled": 1.0, "wall_s": 2.0},
        "crawl": {"peak_rss_mb": 195.3, "cpu_s_sampled": 5.0, "wall_s": 10.0},
        "filter": {"peak_rss_mb": 146.5, "cpu_s_sampled": 3.0, "wall_s": 5.0},
        "prefilter": {"peak_rss_mb": 878.9, "cpu_s_sampled": 11.0, "wall_s": 16.0},
    }
    assert e2e_scale.unfinished_stage({**run, "status": "ok"}, skip=[]) is None


def test_a_py_spy_profile_is_summed_per_stage(tmp_path):
    """Samples under a stage's run() count for that stage; a worker thread's samples in a stage's module count
    for it as '(worker threads)'."""
    import json

    from bench.e2e_scale import summarize_profile

    frames = [{"name": "run", "file": "/x/echo/stages/media.py"}, {"name": "decode", "file": "/x/PIL/Image.py"},
              {"name": "handle", "file": "/x/echo/stages/media.py"}, {"name": "run", "file": "/x/echo/stages/embed.py"},
              {"name": "main", "file": "/x/echo/cli.py"}]
    doc = {"shared": {"frames": frames}, "profiles": [
        {"samples": [[4, 0, 1], [4, 0, 1], [4, 3]], "weights": [0.5, 0.5, 2.0]},
        {"samples": [[2, 1], [4]], "weights": [0.25, 1.0]}]}
    path = tmp_path / "p.speedscope.json"
    path.write_text(json.dumps(doc))
    out = summarize_profile(path)
    assert {k: v["sampled_s"] for k, v in out.items()} == {
        "embed": 2.0, "media": 1.0, "outside stages": 1.0, "media (worker threads)": 0.2}
