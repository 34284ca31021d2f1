"""Two different exports loaded in one process with one HF datasets cache each return their own rows.

datasets keys the cache of a local folder by the folder's name and a hash of the card's YAML (configs and
dataset_info), not by the data files: exports in folders with the same name and the same card used to share
one cache entry, so the second load silently returned the first export's rows.
"""

from __future__ import annotations

import pytest

import echo
from echo.release.freeze import freeze
from echo.release.hf import export_hf
from echo.store import Store
from test_release_support import add_sample, build_small_db


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """One HF datasets cache for the whole test (datasets reads HF_DATASETS_CACHE when first imported)."""
    import datasets

    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


@pytest.fixture
def two_exports(config, tmp_path):
    """Two releases with different content, each exported to a folder named `hf`."""
    with Store(config.path("db")) as store:
        build_small_db(store, config)
        v1 = freeze(store, config, "v1")
        add_sample(store, "s_lighthouse", "x", "1900000000000000008", "a lighthouse in fog, oil painting")
        add_sample(store, "s_kite", "x", "1900000000000000008", "a kite made of autumn leaves")
        v2 = freeze(store, config, "v2")
    a, b = tmp_path / "a" / "hf", tmp_path / "b" / "hf"
    export_hf(v1.path, a, config)
    export_hf(v2.path, b, config)
    return a, b


T2I_V1 = ["s_city1", "s_fox", "s_robot"]
T2I_V2 = ["s_city1", "s_fox", "s_kite", "s_lighthouse", "s_robot"]


def test_each_export_loads_as_itself_from_one_cache(two_exports, hf_cache):
    import datasets

    a, b = two_exports
    assert sorted(datasets.load_dataset(str(a), "text_to_image", split="test")["id"]) == T2I_V1
    assert sorted(datasets.load_dataset(str(b), "text_to_image", split="test")["id"]) == T2I_V2
    # and again in the other order, now that both are cached
    assert sorted(datasets.load_dataset(str(a), "text_to_image", split="test")["id"]) == T2I_V1
    # force_redownload rebuilds from the files and checks the split sizes the card declares
    again = datasets.load_dataset(str(b), "text_to_image", split="test", download_mode="force_redownload")
    assert sorted(again["id"]) == T2I_V2
    entries = {p.name for p in hf_cache.glob("*/text_to_image/*/*") if p.is_dir()}
    assert len(entries) == 2  # one cache entry per export


def test_echo_load_of_each_export_dir(two_exports, hf_cache):
    a, b = two_exports
    for folder, ids in ((a, T2I_V1), (b, T2I_V2), (a, T2I_V1)):
        ds = echo.load(str(folder), "text_to_image", as_dataset=True)
        assert sorted(ds["id"]) == ids
        assert sorted(echo.load(str(folder), "text_to_image").column("id").to_pylist()) == ids


def test_card_declares_split_sizes_and_identity(two_exports):
    import yaml

    descriptions = set()
    for folder, n in zip(two_exports, (3, 5)):
        front = yaml.safe_load((folder / "README.md").read_text().split("---", 2)[1])
        info = {i["config_name"]: i for i in front["dataset_info"]}
        assert [(s["name"], s["num_examples"]) for s in info["text_to_image"]["splits"]] == [("test", n)]
        assert [(s["name"], s["num_examples"]) for s in info["analysis"]["splits"]] == [("test", 3)]
        assert {f["name"] for f in info["text_to_image"]["features"]} >= {"id", "prompt", "output_images"}
        doc = __import__("json").loads((folder / "echo_release.json").read_text())
        content_hash = doc["release_manifest"]["content_hash"]
        assert {c["description"] for c in front["configs"]} == {
            f"echo {doc['version']}, release content sha256 {content_hash}, images embedded"}
        descriptions.add(front["configs"][0]["description"])
    assert len(descriptions) == 2


def test_loader_refuses_rows_a_stale_cache_entry_returns(two_exports, hf_cache):
    """Old exports had the same card: give export b the card of export a, as they used to be, and the
    loader notices that the cache answered with a's rows."""
    import json

    from echo.release.loader import LoadError
    from echo.release.verify import sha256_file

    a, b = two_exports
    echo.load(str(a), "text_to_image", as_dataset=True)
    (b / "README.md").write_bytes((a / "README.md").read_bytes())
    doc = json.loads((b / "echo_release.json").read_text())
    for f in doc["files"]:
        if f["path"] == "README.md":
            f["sha256"], f["size"] = sha256_file(b / "README.md"), (b / "README.md").stat().st_size
    (b / "echo_release.json").write_text(json.dumps(doc))
    with pytest.raises(LoadError, match="returned 3 rows .* holds 5 other rows: a stale HF datasets cache entry"):
        echo.load(str(b), "text_to_image", as_dataset=True)
