"""Freeze, verify, diff, sticky membership, no leakage, the freeze stage, and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from echo import cli, schema
from echo.pipeline import refresh
from echo.release.build import LeakageError, assert_no_leakage
from echo.release.freeze import ReleaseExists, freeze
from echo.release.verify import ReleaseIntegrityError, verify_release
from echo.store import Store
from test_release_support import add_media, add_post, add_sample, build_small_db


@pytest.fixture
def db(config):
    with Store(config.path("db")) as store:
        expected = build_small_db(store, config)
        yield store, expected


def _ids(path: Path, cfg: str) -> set[str]:
    return set(pq.read_table(path / "data" / f"{cfg}.parquet", columns=["id"]).column("id").to_pylist())


def _data_bytes(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((path / "data").iterdir())}


def test_freeze_selects_configs_and_writes_a_valid_manifest(db, config):
    store, expected = db
    res = freeze(store, config, "v1")
    assert _ids(res.path, "text_to_image") == expected["t2i"]
    assert _ids(res.path, "image_to_image") == expected["i2i"]
    assert _ids(res.path, "analysis") == expected["analysis"]
    m = json.loads((res.path / "manifest.json").read_text())
    schema.validate("release/manifest", m)
    assert m["parent_version"] is None and m["config_hash"] == config.hash()
    assert {f["path"] for f in m["files"]} == {"data/text_to_image.parquet", "data/image_to_image.parquet",
                                                "data/analysis.parquet", "CHANGELOG.md"}
    assert m["counts"]["per_task"] == {"text_to_image": 3, "image_to_image": 1}
    assert m["counts"]["excluded"] == {"discarded": 1, "duplicate": 1, "nsfw": 1, "trash": 1}
    assert m["counts"]["per_platform"]["text_to_image"] == {"reddit": 1, "x": 2}
    assert m["source_runs"] == ["run-1"]
    row = {r["id"]: r for r in pq.read_table(res.path / "data/text_to_image.parquet").to_pylist()}["s_fox"]
    # pseudonymized authors, no URLs by default, media by content address
    assert row["author"].startswith("u_") and "alice" not in json.dumps(row, default=str)
    assert row["post_url"] is None and row["output_images"][0]["url"] is None
    assert len(row["output_images"][0]["sha256"]) == 64
    assert row["community_feedback"] == [{"polarity": "failure", "keywords": ["gibberish", "text"],
                                          "categories": ["text rendering"], "author": row["community_feedback"][0]["author"]}]
    assert row["community_feedback"][0]["author"] != row["author"]
    assert row["cluster_id"] == 0 and row["cluster_label"] == "animals, watercolor"
    assert row["provenance"] == {"run_ids": ["run-1"], "extractor": "rules", "extractor_version": "rules-1"}
    # the freeze time is only in the database
    assert "created_at" not in m and store.scalar("SELECT created_at FROM releases WHERE version='v1'") is not None
    verify_release(res.path)


def test_same_database_gives_byte_identical_files(db, config):
    store, _ = db
    a = freeze(store, config, "v1")
    b = freeze(store, config, "v2")
    assert _data_bytes(a.path) == _data_bytes(b.path)
    assert a.manifest["content_hash"] == b.manifest["content_hash"]
    assert b.manifest["parent_version"] == "v1"
    assert all(c["added"] == 0 and c["removed"] == 0 for c in b.manifest["changes"].values())


def test_existing_version_is_refused(db, config):
    store, _ = db
    freeze(store, config, "v1")
    with pytest.raises(ReleaseExists, match="immutable"):
        freeze(store, config, "v1")


def test_tampered_missing_or_extra_files_fail_verify(db, config, capsys):
    store, _ = db
    res = freeze(store, config, "v1")
    f = res.path / "data/analysis.parquet"
    os.chmod(f, 0o644)
    f.write_bytes(f.read_bytes()[:-10] + b"0123456789")
    (res.path / "notes.txt").write_text("x")
    with pytest.raises(ReleaseIntegrityError) as e:
        verify_release(res.path)
    text = "\n".join(e.value.problems)
    assert "data/analysis.parquet: sha256 expected" in text and ", got " in text
    assert "notes.txt: extra file" in text
    os.chmod(res.path / "CHANGELOG.md", 0o644)
    (res.path / "CHANGELOG.md").unlink()
    with pytest.raises(ReleaseIntegrityError, match="CHANGELOG.md: missing"):
        verify_release(res.path)
    # the CLI exits non-zero and names the file
    cfg_file = _write_config(config)
    assert cli.main(["--config", str(cfg_file), "verify", "v1"]) == 1
    err = capsys.readouterr().err
    assert "VERIFY FAILED" in err and "data/analysis.parquet" in err


def test_edited_manifest_is_caught_against_the_database(db, config, capsys):
    store, _ = db
    res = freeze(store, config, "v1")
    store.close()
    m = res.path / "manifest.json"
    os.chmod(m, 0o644)
    doc = json.loads(m.read_text())
    doc["counts"]["per_config"]["analysis"] = 99
    m.write_text(json.dumps(doc))
    cfg_file = _write_config(config)
    assert cli.main(["--config", str(cfg_file), "verify", "v1"]) == 1
    assert "manifest.json: sha256 expected" in capsys.readouterr().err


def test_sticky_membership_and_changelog(db, config):
    store, _ = db
    v1 = freeze(store, config, "v1")
    u = "https://img.example/"
    # new data: a new benchmark sample, a changed prompt, and s_robot's review flips to reject (a correction)
    add_media(store, config, u + "owl.png", (60, 200, 60))
    add_post(store, "x", "1900000000000000020", "lena", "4o: an owl astronaut", 90, images=[u + "owl.png"],
             run_id="run-2")
    add_sample(store, "s_owl", "x", "1900000000000000020", "an owl astronaut", outputs=[u + "owl.png"], run_id="run-2")
    store.execute("UPDATE samples SET prompt = 'isometric city at night, neon, rain' WHERE sample_id = 's_city1'")
    # s_fox drops to manual_review: sticky membership keeps it in the benchmark
    store.execute("UPDATE samples SET benchmark_decision = 'manual_review' WHERE sample_id = 's_fox'")
    # s_city1 becomes a non-canonical duplicate of s_city2: it stays and represents its group
    store.execute("UPDATE duplicates SET is_canonical = (sample_id = 's_city2'), canonical_sample_id = 's_city2'")
    store.execute("UPDATE review_decisions SET decision = 'reject' WHERE sample_id = 's_robot'")
    v2 = freeze(store, config, "v2")
    t2i_v1, t2i_v2 = _ids(v1.path, "text_to_image"), _ids(v2.path, "text_to_image")
    assert t2i_v2 == (t2i_v1 - {"s_robot"}) | {"s_owl"}
    assert "s_city2" not in _ids(v2.path, "analysis") | t2i_v2  # one per group
    assert "s_robot" in _ids(v2.path, "analysis")
    changes = v2.manifest["changes"]["text_to_image"]
    assert changes == {"added": 1, "removed": 1, "removed_by_takedown": 0, "changed": 1, "kept": 1}
    log = (v2.path / "CHANGELOG.md").read_text()
    assert "Changes against v1" in log
    assert "- `s_robot`: moved to analysis (rejected in review)" in log
    assert "- `s_owl` (new)" in log and "- `s_city1`: prompt" in log
    assert "- `s_robot` (from text_to_image)" in log
    assert v2.manifest["source_runs"] == ["run-1", "run-2"]


def test_no_duplicate_group_crosses_configs(db, config):
    store, _ = db
    # the group's canonical is an analysis sample, the duplicate a benchmark one: only the canonical is released
    store.execute("UPDATE samples SET quality = 'analysis', benchmark_decision = NULL WHERE sample_id = 's_city1'")
    res = freeze(store, config, "v1")
    groups = {}
    for cfg in ("text_to_image", "image_to_image", "analysis"):
        for r in pq.read_table(res.path / f"data/{cfg}.parquet").to_pylist():
            if r["duplicate_group_id"]:
                assert r["duplicate_group_id"] not in groups
                groups[r["duplicate_group_id"]] = cfg
    assert groups == {"g_city": "analysis"}
    with pytest.raises(LeakageError, match="spans text_to_image and analysis"):
        assert_no_leakage({"text_to_image": [{"id": "a", "duplicate_group_id": "g"}],
                           "analysis": [{"id": "b", "duplicate_group_id": "g"}]})


def test_nsfw_included_only_when_configured(db, config):
    store, _ = db
    config.release.include_nsfw = True
    res = freeze(store, config, "v1")
    assert "s_nsfw" in _ids(res.path, "text_to_image")


def test_keep_urls_keeps_post_and_image_urls(db, config):
    store, _ = db
    config.release.keep_urls = True
    res = freeze(store, config, "v1")
    row = {r["id"]: r for r in pq.read_table(res.path / "data/text_to_image.parquet").to_pylist()}["s_fox"]
    assert row["post_url"] == "https://x.example/alice/1900000000000000001"
    assert row["output_images"][0]["url"] == "https://img.example/fox.png"


def test_freeze_stage_makes_a_release_only_when_content_changes(db, config):
    store, _ = db
    config.release.export_hf = False
    ctx = refresh(config, store, only=["freeze"])
    assert ctx.stats["freeze"]["releases"] == 1
    versions = [r["version"] for r in store.query("SELECT version FROM releases")]
    assert len(versions) == 1 and versions[0].count(".") == 2  # date-based, e.g. 2026.11.22
    ctx = refresh(config, store, only=["freeze"])
    assert ctx.stats["freeze"]["unchanged"] == 1 and store.count("releases") == 1
    add_sample(store, "s_new", "x", "1900000000000000008", "a bridge at dawn", run_id="run-2")
    ctx = refresh(config, store, only=["freeze"])
    assert ctx.stats["freeze"]["releases"] == 1
    newest = store.scalar("SELECT version FROM releases ORDER BY created_at DESC LIMIT 1")
    assert newest == versions[0] + ".2"
    ctx = refresh(config, store, only=["freeze"], params={"release_version": "forced-1"})
    assert ctx.stats["freeze"]["releases"] == 1 and (config.path("releases_dir") / "forced-1").is_dir()


def _write_config(config) -> Path:
    """A config file for the CLI pointing at the test's paths."""
    p = Path(config.base_dir) / "echo.toml"
    lines = ["[paths]"] + [f'{k} = "{getattr(config.paths, k)}"' for k in
                           ("data_dir", "db", "media_dir", "releases_dir", "exports_dir")]
    p.write_text("\n".join(lines) + "\n")
    return p


def test_cli_freeze_diff_and_refusal(db, config, capsys):
    store, _ = db
    store.close()
    cfg_file = _write_config(config)
    assert cli.main(["--config", str(cfg_file), "freeze", "--version", "v1"]) == 0
    assert "froze v1" in capsys.readouterr().out
    assert cli.main(["--config", str(cfg_file), "freeze", "--version", "v1"]) == 1
    assert "already exists" in capsys.readouterr().err
    with Store(config.path("db")) as s:
        add_sample(s, "s_extra", "x", "1900000000000000008", "a lighthouse in fog")
    assert cli.main(["--config", str(cfg_file), "freeze", "--version", "v2"]) == 0
    assert cli.main(["--config", str(cfg_file), "verify", "v2"]) == 0
    assert "v2: OK" in capsys.readouterr().out
    # the parent pair prints the frozen changelog; other pairs write outside the release folders
    assert cli.main(["--config", str(cfg_file), "diff", "v1", "v2"]) == 0
    out = capsys.readouterr().out
    assert out == (config.path("releases_dir") / "v2" / "CHANGELOG.md").read_text()
    assert "- `s_extra` (new)" in out
    assert cli.main(["--config", str(cfg_file), "diff", "v2", "v1"]) == 0
    out = capsys.readouterr().out
    assert "- `s_extra`: not in v1" in out
    assert (config.path("releases_dir") / "diffs" / "v2..v1.md").read_text() == out
    assert cli.main(["--config", str(cfg_file), "diff", "v1", "v2", "--out",
                     str(config.path("releases_dir") / "v2" / "x.md")]) == 1
    assert cli.main(["--config", str(cfg_file), "verify", "v2"]) == 0


def test_row_schemas_are_the_one_definition_and_catch_bad_rows():
    from echo.release.rows import CONFIGS, arrow_schema, row_schema, validate_rows

    for cfg in CONFIGS:
        assert arrow_schema(cfg).names == list(row_schema(cfg)["properties"])
    assert "quality" in arrow_schema("analysis").names and "quality" not in arrow_schema("text_to_image").names
    assert "input_boxes" in arrow_schema("image_to_image").names
    with pytest.raises(schema.SchemaError, match="sha256 must match pattern"):
        validate_rows("text_to_image", [{
            "id": "a", "prompt": "p", "prompt_modified": False, "prompt_fill_blank": None, "task": "text_to_image",
            "input_images": [], "output_images": [{"sha256": "nope", "path": "p", "url": None, "width": 1, "height": 1}],
            "community_feedback": [], "has_nsfw": False, "platform": "x", "posted_at": None, "author": None,
            "post_url": None, "duplicate_group_id": None, "cluster_id": None, "cluster_label": None,
            "provenance": {"run_ids": [], "extractor": "r", "extractor_version": "1"}}])


def test_unchanged_inputs_skip_building_the_content(db, config, monkeypatch):
    from echo.release import freeze as freeze_mod

    store, _ = db
    config.release.export_hf = False
    assert refresh(config, store, only=["freeze"]).stats["freeze"]["releases"] == 1
    built = []
    real_build = freeze_mod.build_content
    monkeypatch.setattr(freeze_mod, "build_content", lambda *a, **k: built.append(1) or real_build(*a, **k))
    assert refresh(config, store, only=["freeze"]).stats["freeze"]["unchanged"] == 1 and built == []
    # any input row that changes brings the build back: a feedback edit, a sample, a takedown
    store.execute("UPDATE feedback SET polarity = 'success' WHERE sample_id = 's_fox'")
    ctx = refresh(config, store, only=["freeze"])
    assert built == [1] and ctx.stats["freeze"]["releases"] + ctx.stats["freeze"]["unchanged"] == 1
    assert refresh(config, store, only=["freeze"]).stats["freeze"]["unchanged"] == 1 and built == [1]
    add_sample(store, "s_new", "x", "1900000000000000008", "a bridge at dawn", run_id="run-2")
    assert refresh(config, store, only=["freeze"]).stats["freeze"]["releases"] == 1 and built == [1, 1]
    assert refresh(config, store, only=["freeze"]).stats["freeze"]["unchanged"] == 1 and built == [1, 1]
    # another salt (pseudonyms) or config is another input too
    monkeypatch.setenv("ECHO_PSEUDONYM_SALT", "another salt")
    refresh(config, store, only=["freeze"])
    assert built == [1, 1, 1]


def test_stage_makes_no_empty_first_release_and_refuses_a_tampered_parent(config):
    config.release.export_hf = False
    with Store(config.path("db")) as store:
        ctx = refresh(config, store, only=["freeze"])
        assert ctx.stats["freeze"]["unchanged"] == 1 and store.count("releases") == 0
        build_small_db(store, config)
        v1 = freeze(store, config, "v1")
        f = v1.path / "data" / "text_to_image.parquet"
        os.chmod(f, 0o644)
        f.write_bytes(b"not parquet")
        add_sample(store, "s_new", "x", "1900000000000000008", "a bridge at dawn")
        with pytest.raises(ReleaseIntegrityError, match="text_to_image.parquet"):
            freeze(store, config, "v2")


def test_a_run_with_failures_never_freezes_a_smaller_benchmark(db, config):
    """Issue 13 §3: when LLM answers failed, the samples they would have kept are missing; freezing then would
    publish a shrunken (or, the first time, an empty) benchmark. The freeze stage holds it and says why; a
    complete run freezes it."""
    from echo.pipeline import run_stage, start_run
    from echo.stages import freeze as freeze_stage

    store, expected = db
    problem = "extract: 3 item(s) got no valid answer (llm_failures); asked again next run"

    def freeze_in(degraded: bool):
        ctx = start_run(config, store)
        if degraded:
            ctx.degrade("extract", problem)
        return ctx, run_stage(ctx, freeze_stage.run)

    ctx, stats = freeze_in(degraded=True)
    assert stats["held"] == 1 and store.count("releases") == 0
    assert ctx.degraded["freeze"] == [f"not frozen: a first release waits for a run without failures ({problem})"]
    ctx, stats = freeze_in(degraded=False)
    assert stats["releases"] == 1 and store.count("releases") == 1
    # a re-extraction that lost a benchmark sample while steps failed
    store.execute("DELETE FROM samples WHERE sample_id = 's_fox'")
    ctx, stats = freeze_in(degraded=True)
    assert stats["held"] == 1 and store.count("releases") == 1
    assert "shrink from 4 to 3 samples" in ctx.degraded["freeze"][0]
    assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [ctx.run_id]) == "running"  # (finish_run sets it)
    ctx, stats = freeze_in(degraded=False)  # the same content from a complete run is a deliberate change
    assert stats["releases"] == 1 and store.count("releases") == 2
