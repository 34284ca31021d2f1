"""echo.load: verified release or HF export, as a Table or a Dataset, images decoded lazily on access."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from PIL import Image

import echo
from echo.release.freeze import freeze
from echo.release.hf import export_hf
from echo.release.loader import LoadError
from echo.release.verify import ReleaseIntegrityError
from echo.store import Store
from test_release_support import build_small_db


@pytest.fixture
def release(config, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    with Store(config.path("db")) as store:
        build_small_db(store, config)
        return freeze(store, config, "v1")


def test_load_table_and_dataset_from_the_release(release, config):
    rd = config.path("releases_dir")
    t = echo.load("v1", "text_to_image", releases_dir=rd)
    assert isinstance(t, pa.Table) and sorted(t.column("id").to_pylist()) == ["s_city1", "s_fox", "s_robot"]
    ds = echo.load("v1", "image_to_image", as_dataset=True, releases_dir=rd)
    assert ds[0]["id"] == "s_cat" and ds[0]["input_images"][0]["sha256"]


def test_images_decode_lazily_from_the_media_store(release, config):
    ds = echo.load("v1", "image_to_image", as_dataset=True, images=True, releases_dir=config.path("releases_dir"),
                   media_dir=config.path("media_dir"))
    row = ds[0]
    assert isinstance(row["input_images"][0], Image.Image)
    assert row["input_images"][0].getpixel((0, 0)) == (40, 40, 40)
    assert row["output_images"][0].getpixel((0, 0)) == (90, 160, 220)
    t = echo.load("v1", "image_to_image", images=True, releases_dir=config.path("releases_dir"),
                  media_dir=config.path("media_dir"))
    assert t.column("input_image_bytes").to_pylist()[0][0].startswith(b"\x89PNG")


def test_load_from_the_hf_export(release, config):
    out = config.path("exports_dir") / "v1" / "hf"
    export_hf(release.path, out, config)
    # by path, and by version name when only the export is present (no releases_dir copy)
    ds = echo.load(str(out), "text_to_image", as_dataset=True, images=True)
    fox = next(r for r in ds if r["id"] == "s_fox")
    assert isinstance(fox["output_images"][0], Image.Image)
    t = echo.load("v1", "analysis", releases_dir=out.parent / "none",
                  exports_dir=config.path("exports_dir"))
    assert t.num_rows == 3


def test_loader_refuses_a_tampered_release(release, config):
    f = release.path / "data" / "text_to_image.parquet"
    os.chmod(f, 0o644)
    data = bytearray(f.read_bytes())
    data[100] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ReleaseIntegrityError, match="data/text_to_image.parquet: sha256 expected"):
        echo.load("v1", "text_to_image", releases_dir=config.path("releases_dir"))


def test_loader_refuses_a_tampered_export(release, config, tmp_path):
    out = tmp_path / "hf"
    export_hf(release.path, out, config)
    shard = next((out / "data" / "analysis").glob("*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"x")
    with pytest.raises(ReleaseIntegrityError, match="sha256 expected"):
        echo.load(str(out), "analysis")


def test_unknown_version_or_config_is_a_clear_error(release, config):
    with pytest.raises(LoadError, match="not found"):
        echo.load("v9", releases_dir=config.path("releases_dir"), exports_dir=config.path("exports_dir"))
    with pytest.raises(LoadError, match="unknown config"):
        echo.load("v1", "video", releases_dir=config.path("releases_dir"))
