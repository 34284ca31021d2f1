"""Takedowns: forget leaves no trace in the database, the media store or the next release."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from echo import cli, records
from echo.release.forget import ForgetError, forget
from echo.takedowns import is_taken_down
from echo.release.freeze import freeze
from echo.privacy import load_salt
from echo.store import Store
from test_release_support import T0, build_small_db

FOX = "1900000000000000001"
FOX_TEXT = "gpt-4o prompt: a watercolor fox reading a newspaper"


def _all_text(store: Store) -> str:
    """Every value of every table as text (what 'no trace' is checked against)."""
    parts = []
    for (t,) in store.con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
        for row in store.query(f'SELECT * FROM "{t}"'):
            parts.append(json.dumps(row, default=str))
    return "\n".join(parts)


def _release_text(path: Path) -> str:
    return "\n".join(json.dumps(pq.read_table(p).to_pylist(), default=str) for p in sorted((path / "data").glob("*.parquet")))


@pytest.fixture
def db(config):
    with Store(config.path("db")) as store:
        build_small_db(store, config)
        # traces elsewhere: an embedding of the text, a cached LLM answer quoting it, a quote post embedding it
        from echo.dedup.normalize import embedding_key

        store.upsert("embeddings", [records.Embedding(
            text_hash=embedding_key("a watercolor fox reading a newspaper"),
            model="m", dim=2, vector=[0.1, 0.2])])
        store.execute("INSERT INTO llm_cache (cache_key, step, model, template_version, input_hash, response) "
                      "VALUES ('k1', 'extract', 'm', 't', 'h', ?)", [json.dumps({"evidence": [FOX], "prompt": "x"})])
        store.upsert("posts", [records.Post(platform="x", post_id="1900000000000000099", author="zed",
                                            text="lol this", raw={"quoted": {"text": FOX_TEXT}})])
        store.upsert("posts", [records.Post(platform="x", post_id="1900000000000000098", author="yan", text="same",
                                            parent_id=FOX, root_id=FOX, raw={"in_reply_to_status_id": FOX})])
        store.upsert("review_decisions", [{"sample_id": "s_fox", "decision": "accept",
                                           "decided_at": T0}])
        yield store


def test_forget_post_leaves_no_trace_and_next_release_counts_it(db, config):
    v1 = freeze(db, config, "v1")
    assert "s_fox" in _release_text(v1.path)
    fox_media = db.scalar("SELECT path FROM media WHERE url = 'https://img.example/fox.png'")
    res = forget(db, config, post=f"https://x.example/alice/{FOX}")
    assert res.posts == [("x", FOX)]
    assert res.counts["samples"] == 1 and res.counts["media_files"] == 1 and res.counts["embeddings"] == 1
    everything = _all_text(db)
    for trace in (FOX, FOX_TEXT, "a watercolor fox", "s_fox", "fox.png", "alice/"):
        assert trace not in everything, trace
    assert not (config.path("media_dir") / fox_media).exists()
    # replies keep their tree shape under a salted stand-in; the reply's own data stays
    yan = db.query("SELECT parent_id, root_id, raw FROM posts WHERE post_id = '1900000000000000098'")[0]
    assert yan["parent_id"] == yan["root_id"] and yan["parent_id"].startswith("removed:")
    assert json.loads(yan["raw"]) == {"in_reply_to_status_id": yan["parent_id"]}
    assert [r["sample_id"] for r in db.query("SELECT sample_id FROM review_decisions")] == ["s_robot"]
    # the reply's author (bob) keeps nothing of the sample either: feedback on it is gone
    assert db.scalar("SELECT count(*) FROM feedback") == 0
    # other posts and their media stay
    assert db.scalar("SELECT count(*) FROM posts WHERE author = 'carol.bsky.social'") == 1
    assert all((config.path("media_dir") / r["path"]).is_file() for r in db.query("SELECT path FROM media"))

    v2 = freeze(db, config, "v2")
    assert "s_fox" not in _release_text(v2.path)
    assert v2.manifest["changes"]["text_to_image"]["removed_by_takedown"] == 1
    log = (v2.path / "CHANGELOG.md").read_text()
    assert "1 sample removed by takedown." in log and "s_fox" not in log
    # a diff of any other pair does not name it either
    db.close()
    assert cli.main(["--config", str(_config_file(config)), "diff", "v2", "v1"]) == 0
    back = (config.path("releases_dir") / "diffs" / "v2..v1.md").read_text()
    assert "1 added sample not named: taken down since." in back and "s_fox" not in back


def test_takedown_keeps_the_post_out_of_later_crawls(db, config):
    forget(db, config, post=FOX)
    salt = load_salt(config)
    assert is_taken_down(db, "x", FOX, salt=salt)
    assert is_taken_down(db, "x", "123", url=f"https://x.example/alice/{FOX}", salt=salt) is False
    assert is_taken_down(db, "x", "1900000000000000007", "gina", salt=salt) is False
    # only salted hashes are stored
    assert FOX not in _all_text(db)
    from echo.takedowns import takedown_filter

    skip = takedown_filter(db, config)
    assert skip("x", FOX) and not skip("x", "1900000000000000007", "gina")


def test_forget_author_removes_every_post_of_theirs(db, config):
    # someone else mentions the author: the text keeps its words, the handle becomes a stand-in
    db.upsert("posts", [records.Post(platform="reddit", post_id="t1_praise", author="erin", root_id="t3_city1",
                                     parent_id="t3_city1", text="@Dave, this is great! cc @dave_fan and @dave",
                                     raw={"body": "@Dave, this is great!", "mentions": [{"username": "dave"}]})])
    res = forget(db, config, author="@Reddit-Users-Are-Not-Here")
    assert res.posts == []
    res = forget(db, config, author="@DAVE", platform="reddit")
    assert res.posts == [("reddit", "t3_city1")]
    assert db.scalar("SELECT count(*) FROM samples WHERE sample_id = 's_city1'") == 0
    # its duplicate group lost the canonical: the remaining member takes over
    assert db.query("SELECT sample_id, is_canonical, canonical_sample_id FROM duplicates") == [
        {"sample_id": "s_city2", "is_canonical": True, "canonical_sample_id": "s_city2"}]
    salt = load_salt(config)
    assert is_taken_down(db, "reddit", "t3_new", "dave", salt=salt)
    assert is_taken_down(db, "reddit", "t3_new", None, author_id="id-dave", salt=salt)
    (praise,) = db.query("SELECT text, raw FROM posts WHERE post_id = 't1_praise'")
    assert praise == {"text": "@removed, this is great! cc @dave_fan and @removed", "raw": None}
    assert "dave" not in _all_text(db).lower().replace("id-dave", "").replace("@dave_fan", "")


def test_forget_needs_a_target(db, config):
    with pytest.raises(ForgetError, match="--post"):
        forget(db, config)


def _config_file(config) -> Path:
    p = Path(config.base_dir) / "echo.toml"
    p.write_text("[paths]\n" + "\n".join(f'{k} = "{getattr(config.paths, k)}"' for k in
                                          ("data_dir", "db", "media_dir", "releases_dir", "exports_dir")) + "\n")
    return p


def test_cli_forget(db, config, capsys):
    db.close()
    p = _config_file(config)
    assert cli.main(["--config", str(p), "forget", "--post", FOX]) == 0
    out = capsys.readouterr().out
    assert "forgot 1 post(s)" in out and "samples=1" in out
    assert cli.main(["--config", str(p), "forget"]) == 1
