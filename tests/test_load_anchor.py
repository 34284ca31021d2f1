"""echo.load checks a release against an anchor outside its folder: the content hash, pinned by the caller
or read from the database, and the sha256 of every image it hands out."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import echo
from echo.release.freeze import PARQUET_OPTIONS, freeze
from echo.release.hf import export_hf
from echo.release.loader import LoadError
from echo.release.verify import ReleaseIntegrityError, sha256_file
from echo.store import Store
from test_release_support import build_small_db, png


@pytest.fixture
def release(config, tmp_path, monkeypatch):
    import datasets

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    with Store(config.path("db")) as store:
        build_small_db(store, config)
        res = freeze(store, config, "v1")
    return res


@pytest.fixture
def config_file(config, monkeypatch) -> Path:
    """An echo.toml naming the test's paths, found through $ECHO_CONFIG (so the loader finds the database)."""
    p = Path(config.base_dir) / "echo.toml"
    p.write_text("[paths]\n" + "".join(f'{k} = "{getattr(config.paths, k)}"\n' for k in
                                       ("data_dir", "db", "media_dir", "releases_dir", "exports_dir")))
    monkeypatch.setenv("ECHO_CONFIG", str(p))
    return p


def _writable(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            os.chmod(p, 0o644)


def _forge(folder: Path, *, rehash_content: bool) -> None:
    """Rewrite a prompt and the manifest to match, as a forger would: the folder verifies against itself."""
    from echo.release.verify import rows_hash

    _writable(folder)
    f = folder / "data" / "text_to_image.parquet"
    t = pq.read_table(f)
    rows = t.to_pylist()
    rows[0]["prompt"] = "a forged prompt"
    pq.write_table(pa.Table.from_pylist(rows, schema=t.schema), f, **PARQUET_OPTIONS)
    m = json.loads((folder / "manifest.json").read_text())
    for entry in m["files"]:
        if entry["path"] == "data/text_to_image.parquet":
            entry["sha256"], entry["size"] = sha256_file(f), f.stat().st_size
    if rehash_content:
        m["content_hash"] = rows_hash({c: pq.read_table(folder / "data" / f"{c}.parquet").to_pylist()
                                       for c in ("text_to_image", "image_to_image", "analysis")})
    (folder / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


def test_normal_path_loads_with_the_pin_and_the_database(release, config, config_file):
    h = release.manifest["content_hash"]
    t = echo.load("v1", "text_to_image", content_hash=h)  # releases_dir and the database from the config
    assert sorted(t.column("id").to_pylist()) == ["s_city1", "s_fox", "s_robot"]
    assert echo.load("v1", "analysis", content_hash=h[:16]).num_rows == 3  # a 16-character prefix pins too
    ds = echo.load("v1", "image_to_image", as_dataset=True, images=True)
    assert ds[0]["input_images"][0].getpixel((0, 0)) == (40, 40, 40)
    # the hash is recorded outside the folder: the database, the changelog and the dataset card
    with Store(config.path("db"), read_only=True) as store:
        assert store.scalar("SELECT content_hash FROM releases WHERE version = 'v1'") == h
    assert f"`{h}`" in (release.path / "CHANGELOG.md").read_text()
    out = config.path("exports_dir") / "v1" / "hf"
    export_hf(release.path, out, config)
    assert h in (out / "README.md").read_text()
    ds = echo.load(str(out), "text_to_image", as_dataset=True, images=True, content_hash=h)
    assert sorted(ds["id"]) == ["s_city1", "s_fox", "s_robot"]


def test_consistent_forgery_is_refused_by_the_pin(release, config):
    rd = config.path("releases_dir")
    h = release.manifest["content_hash"]
    _forge(release.path, rehash_content=True)
    echo.load("v1", "text_to_image", releases_dir=rd)  # nothing outside the folder to compare with: it loads
    with pytest.raises(ReleaseIntegrityError, match=f"content hash .* not the pinned {h[:16]}"):
        echo.load("v1", "text_to_image", releases_dir=rd, content_hash=h)


def test_forgery_that_keeps_the_manifest_hash_is_refused_by_the_rows(release, config):
    _forge(release.path, rehash_content=False)
    with pytest.raises(ReleaseIntegrityError, match="rows hash to .*, the manifest says"):
        echo.load("v1", "text_to_image", releases_dir=config.path("releases_dir"))


def test_consistent_forgery_is_refused_by_the_database(release, config, config_file):
    _forge(release.path, rehash_content=True)
    with pytest.raises(ReleaseIntegrityError, match="database") as e:
        echo.load("v1", "text_to_image")
    text = "\n".join(e.value.problems)
    assert "manifest.json: sha256 expected" in text and "content hash" in text


def test_forged_export_is_refused_by_the_pin_and_the_database(release, config, config_file):
    out = config.path("exports_dir") / "v1" / "hf"
    export_hf(release.path, out, config)
    h = release.manifest["content_hash"]
    # a forged export: one prompt rewritten, and the export manifest's checksums (and content hash) to match
    shard = out / "data" / "text_to_image" / "test-00000-of-00001.parquet"
    t = pq.read_table(shard)
    rows = t.to_pylist()
    rows[0]["prompt"] = "a forged prompt"
    pq.write_table(pa.Table.from_pylist(rows, schema=t.schema), shard)
    doc = json.loads((out / "echo_release.json").read_text())
    for f in doc["files"]:
        if f["path"] == "data/text_to_image/test-00000-of-00001.parquet":
            f["sha256"], f["size"] = sha256_file(shard), shard.stat().st_size
    forged_hash = hashlib.sha256(b"forged").hexdigest()
    doc["release_manifest"]["content_hash"] = forged_hash
    (out / "echo_release.json").write_text(json.dumps(doc))
    with pytest.raises(ReleaseIntegrityError, match="rows hash to"):
        echo.load(str(out), "text_to_image")
    from echo.release.hf import export_content_hash

    doc["release_manifest"]["content_hash"] = export_content_hash(out, doc)
    (out / "echo_release.json").write_text(json.dumps(doc))
    with pytest.raises(ReleaseIntegrityError, match="not the pinned"):  # the pin alone (no database named)
        echo.load(str(out), "text_to_image", content_hash=h, exports_dir=config.path("exports_dir"))
    with pytest.raises(ReleaseIntegrityError, match="database"):
        echo.load("v1", "text_to_image", releases_dir=Path("/nonexistent"), exports_dir=config.path("exports_dir"),
                  db=config.path("db"))


def test_swapped_image_in_the_media_store_is_refused(release, config):
    ref = release.content.rows["image_to_image"][0]["output_images"][0]
    p = config.path("media_dir") / ref["path"]
    p.write_bytes(png((1, 2, 3)))  # another valid image under the same name
    kw = dict(releases_dir=config.path("releases_dir"), media_dir=config.path("media_dir"))
    ds = echo.load("v1", "image_to_image", as_dataset=True, images=True, **kw)
    with pytest.raises(LoadError, match=f"{ref['path']} does not match its sha256 {ref['sha256']}.*s_cat"):
        ds[0]
    with pytest.raises(LoadError, match=f"{ref['path']} does not match its sha256"):
        echo.load("v1", "image_to_image", images=True, **kw)
    echo.load("v1", "image_to_image", **kw)  # without images the rows still load


def test_swapped_image_in_an_export_is_refused(release, config, tmp_path):
    out = tmp_path / "hf"
    export_hf(release.path, out, config)
    shard = out / "data" / "image_to_image" / "test-00000-of-00001.parquet"
    t = pq.read_table(shard)
    rows = t.to_pylist()
    rows[0]["output_images"][0]["bytes"] = png((1, 2, 3))
    pq.write_table(pa.Table.from_pylist(rows, schema=t.schema), shard)
    doc = json.loads((out / "echo_release.json").read_text())
    for f in doc["files"]:
        if f["path"] == "data/image_to_image/test-00000-of-00001.parquet":
            f["sha256"], f["size"] = sha256_file(shard), shard.stat().st_size
    (out / "echo_release.json").write_text(json.dumps(doc))
    sha = rows[0]["output_image_refs"][0]["sha256"]
    for kw in ({}, {"as_dataset": True, "images": True}, {"images": True}):
        with pytest.raises(ReleaseIntegrityError, match=f"s_cat output_images\\[0\\]: embedded image does not match its sha256 {sha}"):
            echo.load(str(out), "image_to_image", **kw)


def test_rows_are_hashed_only_when_no_anchor_vouches_for_the_manifest(release, config, monkeypatch):
    """Hashing rows is the slow check: skipped when the manifest matches the database's sha256, and done
    once per process for the same bytes otherwise."""
    import echo.release.verify as verify

    calls = []
    real = verify.release_content_hash
    monkeypatch.setattr(verify, "release_content_hash", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(verify, "_CONTENT_HASHES", {})
    with Store(config.path("db"), read_only=True) as store:
        row = store.query("SELECT manifest_sha256, content_hash FROM releases WHERE version = 'v1'")[0]
    verify.verify_release(release.path, expected_manifest_sha256=row["manifest_sha256"],
                          expected_content_hash=row["content_hash"])
    assert calls == []
    rd = config.path("releases_dir")
    for cfg in ("text_to_image", "image_to_image", "analysis"):
        echo.load("v1", cfg, releases_dir=rd)
    assert len(calls) == 1
