"""Hugging Face export: dataset card, embedded images, datasets.load_dataset offline, push path."""

from __future__ import annotations

import os

import pytest
import yaml

from echo.release.freeze import freeze
from echo.release.hf import ExportError, export_hf, push_to_hub, verify_export
from echo.store import Store
from test_release_support import build_small_db


@pytest.fixture
def release(config):
    with Store(config.path("db")) as store:
        build_small_db(store, config)
        res = freeze(store, config, "v1")
    return res


def test_load_dataset_reads_the_export_and_decodes_images(release, config, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    out = tmp_path / "hf"
    doc = export_hf(release.path, out, config)
    assert {f["path"] for f in doc["files"]} >= {"README.md", "data/text_to_image/test-00000-of-00001.parquet"}
    import datasets
    from PIL import Image

    ds = datasets.load_dataset(str(out), "text_to_image", split="test")
    assert sorted(ds["id"]) == ["s_city1", "s_fox", "s_robot"]
    row = next(r for r in ds if r["id"] == "s_fox")
    img = row["output_images"][0]
    assert isinstance(img, Image.Image) and img.size == (24, 16) and img.getpixel((0, 0)) == (200, 90, 30)
    assert row["output_image_refs"][0]["sha256"] == release.content.rows["text_to_image"][1]["output_images"][0]["sha256"]
    i2i = datasets.load_dataset(str(out), "image_to_image", split="test")
    assert i2i[0]["input_images"][0].getpixel((0, 0)) == (40, 40, 40)
    assert len(datasets.load_dataset(str(out), "analysis", split="test")) == 3
    verify_export(out)


def test_dataset_card_front_matter_and_sections(release, config, tmp_path):
    out = tmp_path / "hf"
    export_hf(release.path, out, config)
    card = (out / "README.md").read_text()
    _, front, body = card.split("---", 2)
    meta = yaml.safe_load(front)
    assert [c["config_name"] for c in meta["configs"]] == ["text_to_image", "image_to_image", "analysis"]
    assert meta["configs"][0]["data_files"] == [{"split": "test", "path": "data/text_to_image/*.parquet"}]
    assert meta["license"] == "other" and "CC-BY-4.0" in meta["license_details"]
    for section in ("## Sources and collection", "## Filters", "## Counts", "## License", "## Known limitations",
                    "## Citation", "Constantly Improving Image Models Need Constantly Improving Benchmarks"):
        assert section in body
    assert "2025-03-26T12:00:00+00:00" in body and "bluesky (1)" in body
    assert "alice" not in card


def test_export_refuses_a_tampered_release_and_a_non_empty_folder(release, config, tmp_path):
    out = tmp_path / "hf"
    export_hf(release.path, out, config)
    with pytest.raises(ExportError, match="not empty"):
        export_hf(release.path, out, config)
    export_hf(release.path, out, config, overwrite=True)
    f = release.path / "CHANGELOG.md"
    os.chmod(f, 0o644)
    f.write_text("edited")
    from echo.release.verify import ReleaseIntegrityError

    with pytest.raises(ReleaseIntegrityError, match="CHANGELOG.md: sha256"):
        export_hf(release.path, tmp_path / "hf2", config)


def test_missing_media_is_a_clear_error(release, config, tmp_path):
    for p in config.path("media_dir").rglob("*.png"):
        p.unlink()
    with pytest.raises(ExportError, match="missing from the media store"):
        export_hf(release.path, tmp_path / "hf", config)
    assert not (tmp_path / "hf").exists()


def test_shards_split_by_image_bytes(release, config, tmp_path):
    out = tmp_path / "hf"
    doc = export_hf(release.path, out, config, max_shard_bytes=1)
    shards = sorted(f["path"] for f in doc["files"] if f["config"] == "text_to_image")
    assert shards == [f"data/text_to_image/test-0000{i}-of-00003.parquet" for i in range(3)]


def test_row_groups_split_by_image_bytes(release, config, tmp_path, monkeypatch):
    """Real 2048 px photos are 1-3 MB: a row group (what a writer or reader holds at once) is capped in bytes."""
    import pyarrow.parquet as pq

    from echo.release import hf

    monkeypatch.setattr(hf, "ROW_GROUP_BYTES", 1)  # every row with an image is a group of its own
    out = tmp_path / "hf"
    doc = export_hf(release.path, out, config)
    (shard,) = [f for f in doc["files"] if f["config"] == "text_to_image"]
    meta = pq.ParquetFile(out / shard["path"]).metadata
    assert shard["rows"] == 3
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1, 1, 1]
    verify_export(out)  # the same rows and images, whatever the grouping
    monkeypatch.setattr(hf, "ROW_GROUP_BYTES", 32 * 1024 * 1024)
    doc2 = export_hf(release.path, tmp_path / "hf2", config)
    assert doc2["release_manifest"]["content_hash"] == doc["release_manifest"]["content_hash"]
    assert pq.ParquetFile(tmp_path / "hf2" / shard["path"]).metadata.num_row_groups == 1


class FakeHub:
    """Records the calls push_to_hub makes to huggingface_hub.HfApi."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw["repo_id"], kw))

        class Info(str):
            oid = "abc123"
        return Info("https://hub/commit/abc123")

    def create_tag(self, repo_id, **kw):
        self.calls.append(("create_tag", repo_id, kw))


def test_push_dry_run_and_call_sequence(release, config, tmp_path):
    out = tmp_path / "hf"
    export_hf(release.path, out, config)
    ops = push_to_hub(out, "org/echo", "v1", dry_run=True)
    assert ops[0].startswith("create_repo org/echo") and ops[-1] == "create_tag org/echo tag=v1 at the upload commit"
    hub = FakeHub()
    push_to_hub(out, "org/echo", "v1", api=hub)
    assert [c[0] for c in hub.calls] == ["create_repo", "upload_folder", "create_tag"]
    assert hub.calls[0][2]["repo_type"] == "dataset"
    assert hub.calls[1][2]["folder_path"] == str(out)
    assert hub.calls[2][2]["tag"] == "v1" and hub.calls[2][2]["revision"] == "abc123"
    with pytest.raises(ExportError, match="not v2"):
        push_to_hub(out, "org/echo", "v2", dry_run=True)
    (out / "README.md").write_text("changed")
    with pytest.raises(ExportError, match="README.md: sha256"):
        push_to_hub(out, "org/echo", "v1", dry_run=True)
