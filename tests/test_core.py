"""Schema, records, store and config: the spine every stage builds on."""

from __future__ import annotations

import dataclasses

import pyarrow.parquet as pq
import pytest

from echo import records, schema
from echo.config import ConfigError, load_config
from echo.store import Store, StoreError


def test_every_table_has_a_primary_key_and_a_record_type():
    for name, t in schema.tables().items():
        assert t.primary_key, f"{name} lacks a primary key"
        cls = schema.record_type(name)
        assert [f.name for f in dataclasses.fields(cls)] == t.column_names


def test_upsert_is_idempotent_and_updates_only_named_columns(store: Store):
    post = records.Post(platform="x", post_id="1", text="a cat", like_count=1, query="q1", raw={"id": "1"})
    assert store.upsert("posts", [post]) == 1
    assert store.upsert("posts", [post]) == 1
    assert store.count("posts") == 1
    store.upsert("posts", [{"platform": "x", "post_id": "1", "like_count": 7, "query": "q2"}], update=["like_count"])
    row = store.query("SELECT text, like_count, query, raw->>'id' AS rid FROM posts")[0]
    assert row == {"text": "a cat", "like_count": 7, "query": "q1", "rid": "1"}


def test_upsert_rejects_rows_without_key_or_with_unknown_columns(store: Store):
    with pytest.raises(StoreError, match="primary key"):
        store.upsert("posts", [{"platform": "x", "text": "no id"}])
    with pytest.raises(StoreError, match="unknown column"):
        store.upsert("posts", [{"platform": "x", "post_id": "1", "colour": "red"}])


def test_defaults_and_lists_round_trip(store: Store):
    s = records.Sample(sample_id="s1", platform="x", root_id="1", anchor_post_id="1", prompt="a cat",
                       prompt_modified=False, quality="benchmark", extractor="rules", extractor_version="r1",
                       output_media=["u1", "u2"], input_boxes=[{"role": "input", "box": [0, 0, 5, 5]}])
    store.upsert("samples", [s])
    (got,) = store.records("samples")
    assert got.output_media == ["u1", "u2"] and got.is_screenshot is False and got.has_nsfw is False


def test_parquet_mirror_has_every_table_with_its_schema(store: Store, tmp_path):
    store.upsert("posts", [records.Post(platform="x", post_id="1")])
    written = store.mirror_parquet(tmp_path / "a")
    assert set(written) == set(schema.tables())
    assert pq.read_table(written["posts"][0]).num_rows == 1
    assert pq.read_schema(written["samples"][0]).names == schema.table("samples").column_names
    # a second mirror links the unchanged tables to the first one's files and writes the changed ones
    store.upsert("posts", [records.Post(platform="x", post_id="2")])
    previous = {name: (fp, path) for name, (path, fp) in written.items()}
    again = store.mirror_parquet(tmp_path / "b", previous)
    assert pq.read_table(again["posts"][0]).num_rows == 2 and again["posts"][1] != written["posts"][1]
    assert again["samples"][0].stat().st_ino == written["samples"][0].stat().st_ino
    assert again["posts"][0].stat().st_ino != written["posts"][0].stat().st_ino
    for name in schema.tables():
        live = store.arrow(f'SELECT * FROM "{name}"').read_all().cast(schema.arrow_schema(name))
        assert pq.read_table(again[name][0]).equals(live)
    # a changed row (same count) changes the fingerprint
    store.execute("UPDATE posts SET text = 'edited' WHERE post_id = '2'")
    assert store.fingerprint("posts") != again["posts"][1]


def test_schema_migration_adds_new_columns(tmp_path):
    db = tmp_path / "old.duckdb"
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE posts (platform VARCHAR NOT NULL, post_id VARCHAR NOT NULL, PRIMARY KEY (platform, post_id))")
    con.close()
    with Store(db) as s:
        assert "like_count" in {r["column_name"] for r in s.query("SELECT column_name FROM duckdb_columns() WHERE table_name='posts'")}


def test_config_env_overrides_and_refuses_secrets(tmp_path):
    f = tmp_path / "echo.toml"
    f.write_text('[llm]\nmodel = "m1"\n[filter]\nrelevance_threshold = 3\n')
    cfg = load_config(f, env={"ECHO_LLM_MODEL": "m2", "ECHO_FILTER_RELEVANCE_THRESHOLD": "5"})
    assert cfg.llm.model == "m2" and cfg.filter.relevance_threshold == 5
    f.write_text('[llm]\napi_key = "sk-123"\n')
    with pytest.raises(ConfigError, match="secrets"):
        load_config(f, env={})
    f.write_text('[llm]\nmodle = "typo"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config(f, env={})
    with pytest.raises(ConfigError, match="integer"):
        load_config(tmp_path / "echo.toml", env={"ECHO_MEDIA_MAX_BYTES": "lots"}) if f.write_text("") is not None else None


def test_json_schema_validation_reports_paths():
    from echo.schema import SchemaError, validate

    validate("llm/relevance", {"score": 4, "reason": "shares generated images"})
    with pytest.raises(SchemaError, match="score"):
        validate("llm/relevance", {"score": 9, "reason": "x"})


def test_a_database_made_before_the_column_renames_opens_with_its_rows(tmp_path):
    """relevance.stage became judge and llm_*.stage became step: an older file is migrated on open, rows kept."""
    import duckdb

    from echo.store import Store

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE relevance (platform VARCHAR NOT NULL, post_id VARCHAR NOT NULL, stage VARCHAR NOT NULL, "
                "score INTEGER, passed BOOLEAN NOT NULL, reason VARCHAR, model VARCHAR NOT NULL, "
                "prompt_version VARCHAR NOT NULL, run_id VARCHAR, PRIMARY KEY (platform, post_id, stage))")
    con.execute("INSERT INTO relevance VALUES ('x', '1', 'llm', 5, true, 'r', 'm', 'v', 'run1')")
    con.execute("CREATE TABLE llm_usage (run_id VARCHAR NOT NULL, stage VARCHAR NOT NULL, model VARCHAR NOT NULL, "
                "calls INTEGER NOT NULL, cache_hits INTEGER NOT NULL, failures INTEGER NOT NULL, "
                "tokens_in BIGINT NOT NULL, tokens_out BIGINT NOT NULL, PRIMARY KEY (run_id, stage, model))")
    con.execute("INSERT INTO llm_usage VALUES ('run1', 'relevance', 'm', 3, 0, 0, 10, 2)")
    con.close()
    with Store(path) as store:
        assert store.query("SELECT platform, post_id, judge, score FROM relevance") == [
            {"platform": "x", "post_id": "1", "judge": "llm", "score": 5}]
        assert store.query("SELECT step, calls FROM llm_usage") == [{"step": "relevance", "calls": 3}]
        store.upsert("relevance", [{"platform": "x", "post_id": "1", "judge": "llm", "score": 4, "passed": True,
                                    "model": "m", "prompt_version": "v"}])
        assert store.scalar("SELECT score FROM relevance") == 4  # the key still works after the rename
        assert store.scalar("SELECT count(*) FROM crawl_funnel") == 0  # views were rebuilt on the new names
