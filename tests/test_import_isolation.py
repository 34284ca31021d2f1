"""Import isolates each file and each item: a malformed one becomes a crawl_errors row naming it, the rest goes on.

Bad files of every platform (wrong types where the parsers expect objects, strings or numbers), JSON nested
100k deep, a YAML alias bomb and a file over the size cap sit next to good files; the good files and the good
items of bad files are all stored, exactly as when imported alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from echo import pipeline
from echo.cli import main
from echo.config import SourceConfig
from echo.sources.base import ParseContext
from echo.sources.importer import discover, parse_file, read_bodies
from echo.store import Store

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
GOOD = {  # one real file per platform from the bundled corpus
    "x": SAMPLES / "x" / "search_recent_p01.json",
    "bluesky": SAMPLES / "bluesky" / "thread_3lkylip63kk5q.json",
    "reddit": SAMPLES / "reddit" / "r_ChatGPT_comments_1jd0q89.json",
    "mastodon": SAMPLES / "mastodon" / "tag_timeline_p01.json",
}
HN_GOOD = {"hits": [{"objectID": "4001", "title": "Show HN: 4o image prompts", "author": "pg", "points": 3,
                     "created_at_i": 1742947200, "_tags": ["story", "show_hn"], "num_comments": 0}]}
MAX_FILE_BYTES = 300_000  # above deep.json (200 KB), below huge.json


def _bsky(rkey: str, **view) -> dict:
    return {"uri": f"at://did:plc:tester/app.bsky.feed.post/{rkey}", "cid": "c",
            "author": {"did": "did:plc:tester", "handle": "tester.bsky.social"},
            "record": {"text": f"post {rkey}", "createdAt": "2025-03-27T10:00:00Z"}, **view}


def _status(sid: str, **extra) -> dict:
    return {"id": sid, "url": f"https://m.example/@a/{sid}", "created_at": "2025-03-27T10:00:00Z",
            "content": f"<p>status {sid}</p>", "account": {"id": "1", "acct": "a@m.example"}, **extra}


def _reddit_listing(*things) -> dict:
    return {"kind": "Listing", "data": {"children": list(things), "after": None}}


def _t3(pid: str, **extra) -> dict:
    return {"kind": "t3", "data": {"id": pid, "name": f"t3_{pid}", "title": f"title {pid}", "author": "u",
                                   "created_utc": 1742947200, "permalink": f"/r/x/comments/{pid}/", **extra}}


# file -> (content, [(item or None, reason fragment)]) for every bad file; kept items are listed in KEPT
BAD: dict[str, tuple[object, list[tuple[str | None, str]]]] = {
    "x/bad_metrics.json": ({"data": [{"id": "9001", "text": "kept"},
                                     {"id": "9002", "text": "dropped", "public_metrics": "x"}]},
                           [("9002", "AttributeError")]),
    "x/includes_list.json": ({"data": [{"id": "9003", "text": "kept"}], "includes": ["users"]},
                             [(None, "includes is not an object")]),
    "x/meta_string.json": ({"data": [{"id": "9004", "text": "kept"}], "meta": "x"}, [(None, "meta is not an object")]),
    "x/like_count_huge.json": ({"data": [{"id": "9005", "text": "t", "public_metrics": {"like_count": 10 ** 30}}]},
                               [("9005", "like_count")]),
    "bluesky/record_string.json": ({"posts": [_bsky("k1"), {**_bsky("k2"), "record": "a string"}]},
                                   [("k2", "AttributeError")]),
    "bluesky/like_count_string.json": ({"posts": [_bsky("k3", likeCount="many")]}, [("k3", "like_count")]),
    "bluesky/posts_object.json": ({"posts": {"uri": "at://x"}}, [(None, "posts is not a list")]),
    "reddit/score_string.json": (_reddit_listing(_t3("g1", score=5), _t3("b1", score="many")), [("b1", "like_count")]),
    "reddit/data_list.json": ({"kind": "Listing", "data": ["x"]}, [(None, "AttributeError")]),
    "mastodon/favourites_string.json": ([_status("7001"), _status("7002", favourites_count="x")],
                                        [("7002", "like_count")]),
    "mastodon/account_string.json": ([_status("7003", account="bob")], [("7003", "AttributeError")]),
    "hackernews/points_string.json": ({"hits": [{**HN_GOOD["hits"][0], "objectID": "5001"},
                                                {**HN_GOOD["hits"][0], "objectID": "5002", "points": "x"}]},
                                      [("5002", "like_count")]),
    "hackernews/hits_string.json": ({"hits": "x"}, [(None, "without a hits list")]),
}
KEPT = {("x", "9001"), ("x", "9003"), ("x", "9004"), ("bluesky", "at://did:plc:tester/app.bsky.feed.post/k1"),
        ("reddit", "t3_g1"), ("mastodon", "7001"), ("hackernews", "5001")}

DEEP = "[" * 100_000 + "]" * 100_000
ALIAS_BOMB = "\n".join(
    ['- &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"- &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")]
) + "\n"  # under 1 KB; expanded, 9^9 = 387 million strings
STRUCTURE = {  # file -> reason fragment
    "x/deep.json": "nested deeper than",
    "x/deep.jsonl": "nested deeper than",
    "x/bomb.yaml": "aliases expand to more than",
    "x/huge.json": f"bytes, over the {MAX_FILE_BYTES}-byte cap",
}


def _write_corpus(root: Path, *, bad: bool) -> Path:
    corpus = root / "corpus"
    for platform, src in GOOD.items():
        (corpus / platform).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, corpus / platform / src.name)
    (corpus / "hackernews").mkdir(exist_ok=True)
    (corpus / "hackernews" / "search.json").write_text(json.dumps(HN_GOOD))
    if bad:
        for name, (content, _) in BAD.items():
            (corpus / name).write_text(json.dumps(content))
        (corpus / "x" / "deep.json").write_text(DEEP)
        (corpus / "x" / "deep.jsonl").write_text(json.dumps({"data": [{"id": "9006", "text": "kept"}]}) + "\n" + DEEP)
        (corpus / "x" / "bomb.yaml").write_text(ALIAS_BOMB)
        page = json.loads(GOOD["x"].read_text())
        page["data"] = page["data"] * 60  # valid, just too big
        (corpus / "x" / "huge.json").write_text(json.dumps(page))
    assert all((f.stat().st_size < MAX_FILE_BYTES) != (f.name == "huge.json") for f, _ in discover([corpus]))
    return corpus


def _post_rows(store: Store) -> dict:
    rows = store.query("SELECT * EXCLUDE (fetched_at, run_id, last_run_id) FROM posts ORDER BY platform, post_id")
    return {(r["platform"], r["post_id"]): r for r in rows}


def test_alias_bomb_is_small_on_disk():
    assert len(ALIAS_BOMB) < 1024


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_platform_parser_isolates_malformed_items(name, tmp_path):
    platform = name.split("/")[0]
    path = tmp_path / platform / Path(name).name
    path.parent.mkdir()
    path.write_text(json.dumps(BAD[name][0]))
    parsed = parse_file(path, platform, ParseContext(source="t"))
    assert {(p.platform, p.post_id) for p in parsed.posts} == {k for k in KEPT if k[0] == platform
                                                               and k[1] in json.dumps(BAD[name][0])}
    assert len(parsed.errors) == len(BAD[name][1])
    for error, (item, reason) in zip(parsed.errors, BAD[name][1]):
        assert error.message.startswith(f"{path} file: ") and reason in error.message, error.message
        if item:
            assert f"item {item}" in error.message or item in error.message


def test_crawl_stage_imports_every_good_file_and_records_each_bad_one(config, tmp_path, caplog):
    good_corpus = _write_corpus(tmp_path / "good", bad=False)
    corpus = _write_corpus(tmp_path / "mixed", bad=True)

    def crawl(corpus: Path, db: Path) -> tuple[dict, dict, list[dict]]:
        config.sources = [SourceConfig(name="dump", kind="import", paths=[str(corpus)], max_file_bytes=MAX_FILE_BYTES)]
        with Store(db) as store:
            stats = pipeline.refresh(config, store, only=["crawl"]).stats["crawl"]
            errors = store.query("SELECT kind, message, query, raw FROM crawl_errors ORDER BY message")
            return stats, _post_rows(store), errors

    _, expected, no_errors = crawl(good_corpus, tmp_path / "good.duckdb")
    assert no_errors == [] and len(expected) > 20 and {k[0] for k in expected} == {*GOOD, "hackernews"}
    stats, rows, errors = crawl(corpus, tmp_path / "mixed.duckdb")

    # every good file, row for row, as when imported alone; and the good items of the bad files
    assert set(rows) == set(expected) | KEPT | {("x", "9006")}
    assert {k: r for k, r in rows.items() if k in expected} == expected
    assert {rows[k]["query"] for k in KEPT} == {f"import:{n}" for n in BAD if any(k[1] in n or k[1] in
                                                json.dumps(BAD[n][0]) for k in KEPT)}

    for name, (_, expected_errors) in BAD.items():
        found = [e for e in errors if e["message"].startswith(f"{corpus / name} ")]
        assert len(found) == len(expected_errors), (name, found)
        for e, (item, reason) in zip(found, expected_errors):
            assert reason in e["message"] and (item is None or item in e["message"])
            assert e["query"] == f"import:{name}"
    for name, reason in STRUCTURE.items():
        (e,) = [e for e in errors if e["message"].startswith(f"{corpus / name} ")]
        assert reason in e["message"], e
        assert len(e["raw"] or "") <= 1_000_000  # the refused content is not copied whole
    assert stats["files_imported"] + stats["files_failed"] == len(discover([corpus]))
    assert stats["files_failed"] == len(STRUCTURE) - 1  # deep.jsonl's first line is imported
    # the log names the files that failed
    failed_lines = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert any(all(Path(n).name in line for n in STRUCTURE if n != "x/deep.jsonl") for line in failed_lines), failed_lines


def test_bounded_yaml_and_json_are_refused_by_their_limits(tmp_path):
    (tmp_path / "bomb.yaml").write_text(ALIAS_BOMB)
    (body,) = read_bodies(tmp_path / "bomb.yaml")
    assert body.obj is None and body.error.startswith("YAML aliases expand to more than")
    recursive = tmp_path / "self.yaml"
    recursive.write_text("&a [*a]\n")
    (body,) = read_bodies(recursive)
    assert body.error == "YAML refers to itself (a recursive alias)"
    (tmp_path / "deep.json").write_text(DEEP)
    (body,) = read_bodies(tmp_path / "deep.json")
    assert body.obj is None and body.error.startswith("JSON nested deeper than")
    from echo.sources.importer import MAX_DEPTH

    (tmp_path / "edge.json").write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH)  # the limit itself still reads
    (body,) = read_bodies(tmp_path / "edge.json")
    assert body.error is None
    (tmp_path / "over.json").write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    (body,) = read_bodies(tmp_path / "over.json")
    assert body.error == f"JSON nested deeper than {MAX_DEPTH} levels"
    # a small cassette with a few aliases (as YAML writers emit for repeated headers) still reads
    cassette = tmp_path / "ok.yaml"
    cassette.write_text(
        "interactions:\n- request: &req {method: GET, uri: 'https://api.x.com/2/tweets/search/recent'}\n"
        "  response: {status: {code: 200}, body: {string: '{\"data\": [{\"id\": \"1\", \"text\": \"a\"}]}'}}\n"
        "- request: *req\n"
        "  response: {status: {code: 200}, body: {string: '{\"data\": [{\"id\": \"2\", \"text\": \"b\"}]}'}}\n")
    assert [b.obj for b in read_bodies(cassette)] == [{"data": [{"id": "1", "text": "a"}]},
                                                      {"data": [{"id": "2", "text": "b"}]}]


def test_cli_import_summary_names_the_failed_files(tmp_path, capsys):
    corpus = _write_corpus(tmp_path, bad=True)
    cfg = tmp_path / "echo.toml"
    cfg.write_text(f'[paths]\ndata_dir = "{tmp_path}"\ndb = "{tmp_path / "echo.duckdb"}"\n')
    assert main(["--config", str(cfg), "import", "--max-file-bytes", str(MAX_FILE_BYTES), str(corpus)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(f"total: {len(discover([corpus]))} files, 3 failed: ")
    failed = out[-1].split(" failed: ", 1)[1].split("; ", 1)[0]
    assert sorted(failed.split(", ")) == sorted(str(corpus / n) for n in STRUCTURE if n != "x/deep.jsonl")
    with_errors = out[-1].split("; errors in: ", 1)[1]
    assert {p.split(" (")[0] for p in with_errors.split(", ")} == {str(corpus / n) for n in [*BAD, "x/deep.jsonl"]}
    assert f"{corpus / 'x' / 'huge.json'} [x]: failed: " in "\n".join(out)
