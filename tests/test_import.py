"""`echo-bench import` and import sources: real recorded files, folders, bad files, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from echo import pipeline
from echo.cli import main
from echo.config import SourceConfig
from echo.sources.base import ParseContext
from echo.sources.importer import discover, parse_file
from echo.store import Store


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    f = tmp_path / "echo.toml"
    f.write_text(f'[paths]\ndata_dir = "{tmp_path}"\ndb = "{tmp_path / "echo.duckdb"}"\n')
    return f


def db_counts(tmp_path: Path) -> dict:
    with Store(tmp_path / "echo.duckdb", read_only=True) as s:
        return {t: s.count(t) for t in ("posts", "post_media", "crawl_errors", "imported_files")}


@pytest.mark.realdata
def test_cli_imports_every_x_and_bluesky_realdata_file(realdata, cfg_file, tmp_path, capsys):
    folders = [realdata / "x" / "twarc_csv_v2_jsonl", realdata / "x" / "tweepy_cassettes_decoded",
               realdata / "x" / "pytwitter_testdata", realdata / "bluesky"]
    assert main(["--config", str(cfg_file), "import", *map(str, folders)]) == 0
    out = capsys.readouterr().out
    assert "twarc_csv_v2_jsonl/entities_test.jsonl [x]: 650 posts (650 new), 0 images, 126 reply links, 21 quote links" in out
    assert "f_autfeed.yml [bluesky]: 80 posts (80 new), 27 images, 38 reply links, 10 quote links" in out
    files = discover(folders)
    ids, media, replies, quotes = set(), set(), set(), set()
    for path, platform in files:
        parsed = parse_file(path, platform, ParseContext("import"))
        ids |= {(p.platform, p.post_id) for p in parsed.posts}
        media |= {(m.platform, m.post_id, m.url) for m in parsed.post_media}
        replies |= {(p.platform, p.post_id) for p in parsed.posts if p.parent_id}
        quotes |= {(p.platform, p.post_id) for p in parsed.posts if p.quoted_id}
    first = db_counts(tmp_path)
    assert first["posts"] == len(ids) and first["post_media"] == len(media) and first["imported_files"] == len(files)
    with Store(tmp_path / "echo.duckdb", read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM posts WHERE parent_id IS NOT NULL") == len(replies)
        assert s.scalar("SELECT count(*) FROM posts WHERE quoted_id IS NOT NULL") == len(quotes)
        assert s.scalar("SELECT count(*) FROM crawl_errors WHERE kind = 'malformed_page'") == 1  # twarc's cut line
    # importing again changes nothing
    assert main(["--config", str(cfg_file), "import", *map(str, folders)]) == 0
    assert db_counts(tmp_path) == first
    assert "(0 new)" in capsys.readouterr().out


def test_folder_import_platform_from_folder_and_bad_files(cfg_file, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    (corpus / "x").mkdir(parents=True)
    (corpus / "bluesky").mkdir()
    (corpus / "media").mkdir()
    (corpus / "answers.json").write_text("{}")  # not API data: ignored
    (corpus / "x" / "page.json").write_text(json.dumps({"data": [{"id": "1", "text": "4o prompt: a cat"}]}))
    (corpus / "x" / "broken.json").write_text('{"data": [')
    (corpus / "bluesky" / "thread.json").write_text(json.dumps({"thread": {"post": {
        "uri": "at://did:plc:a/app.bsky.feed.post/1", "author": {"handle": "a.bsky.social"},
        "record": {"text": "hi", "createdAt": "2025-03-27T00:00:00Z"}}}}))
    assert main(["--config", str(cfg_file), "import", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "page.json [x]: 1 posts (1 new)" in out and "thread.json [bluesky]: 1 posts (1 new)" in out
    broken = corpus / "x" / "broken.json"
    assert f"{broken} [x]: failed: not valid JSON: Expecting value: line 1 column 11 (char 10)" in out
    assert out.splitlines()[-1] == f"total: 3 files, 1 failed: {broken}; 2 posts (2 new), 0 images, 1 errors"
    with Store(tmp_path / "echo.duckdb", read_only=True) as s:
        (err,) = s.query("SELECT kind, message, raw FROM crawl_errors")
    assert err["kind"] == "malformed_page" and "not valid JSON" in err["message"] and err["raw"] == '{"data": ['

    plain = tmp_path / "plain"
    plain.mkdir()
    assert main(["--config", str(cfg_file), "import", str(plain)]) == 2
    assert "--platform" in capsys.readouterr().err
    assert main(["--config", str(cfg_file), "import", str(tmp_path / "nope.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_import_source_in_the_crawl_stage_skips_unchanged_files(config, tmp_path):
    corpus = tmp_path / "corpus" / "x"
    corpus.mkdir(parents=True)
    page = corpus / "page.json"
    page.write_text(json.dumps({"data": [{"id": "1", "text": "a", "public_metrics": {"like_count": 1}}]}))
    config.sources = [SourceConfig(name="samples", kind="import", paths=[str(tmp_path / "corpus")])]
    with Store(tmp_path / "s.duckdb") as store:
        s1 = pipeline.refresh(config, store, only=["crawl"]).stats["crawl"]
        assert (s1["files_imported"], s1["posts_new"]) == (1, 1)
        s2 = pipeline.refresh(config, store, only=["crawl"]).stats["crawl"]
        assert (s2["files_unchanged"], s2["files_imported"], s2["posts_new"]) == (1, 0, 0)
        page.write_text(json.dumps({"data": [{"id": "1", "text": "a", "public_metrics": {"like_count": 9}},
                                             {"id": "2", "text": "b"}]}))
        s3 = pipeline.refresh(config, store, only=["crawl"]).stats["crawl"]
        assert (s3["files_imported"], s3["posts_new"], s3["posts_seen_again"]) == (1, 1, 1)
        assert store.scalar("SELECT like_count FROM posts WHERE post_id = '1'") == 9
        assert store.count("posts") == 2


def test_bundled_corpus_fills_posts_through_refresh_only_crawl(config, tmp_path):
    samples = Path(__file__).resolve().parent.parent / "data" / "samples"
    if not any(samples.glob("x/*.json")) and not any(samples.glob("bluesky/*.json")):
        pytest.skip("data/samples has no x or bluesky files yet")
    with Store(config.path("db")) as store:
        ctx = pipeline.refresh(config, store, only=["crawl"])
        stats = ctx.stats["crawl"]
        assert stats["files_imported"] > 0 and stats["errors"] == 0
        by_platform = {r["platform"]: r["n"]
                       for r in store.query("SELECT platform, count(*) AS n FROM posts GROUP BY platform")}
        for platform in ("x", "bluesky"):
            if any(samples.glob(f"{platform}/*.json")):
                assert by_platform.get(platform, 0) > 0
        assert store.scalar("SELECT count(*) FROM post_media") > 0
        again = pipeline.refresh(config, store, only=["crawl"]).stats["crawl"]
        assert again["posts_new"] == 0
