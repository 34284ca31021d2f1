"""The scorers' loader: `echo.load(version, config)` reads a frozen release (or its Hugging Face export)
after verifying its checksums, and decodes images only when asked and only when accessed."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from echo.release.hf import EXPORT_MANIFEST, IMAGE_COLUMNS, SPLIT, verify_export
from echo.release.rows import CONFIGS
from echo.release.verify import ReleaseIntegrityError, verify_release


class LoadError(RuntimeError):
    pass


def _decode(data: bytes):
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(data))
        img.load()
    return img


def _default_config():
    from echo.config import load_config

    return load_config()


def _resolve(version: str, releases_dir: str | Path | None, exports_dir: str | Path | None) -> tuple[str, Path]:
    """('release' | 'hf', folder) for a version name or a folder path."""
    p = Path(version)
    if p.is_dir():
        return ("hf" if (p / EXPORT_MANIFEST).is_file() else "release"), p
    if releases_dir is None and exports_dir is None:
        cfg = _default_config()
        releases_dir, exports_dir = cfg.path("releases_dir"), cfg.path("exports_dir")
    if releases_dir is not None and (Path(releases_dir) / version).is_dir():
        return "release", Path(releases_dir) / version
    if exports_dir is not None and (Path(exports_dir) / version / "hf" / EXPORT_MANIFEST).is_file():
        return "hf", Path(exports_dir) / version / "hf"
    raise LoadError(f"release {version!r} not found under {releases_dir}"
                    + (f" nor as an export under {exports_dir}" if exports_dir else ""))


def load(version: str, config: str = "text_to_image", *, as_dataset: bool = False, images: bool = False,
         releases_dir: str | Path | None = None, exports_dir: str | Path | None = None,
         media_dir: str | Path | None = None) -> Any:
    """A frozen release config as a pyarrow Table, or as a datasets.Dataset with as_dataset=True.

    version: a version name (looked up in releases_dir, then exports_dir/<version>/hf) or a folder (a release
    folder or an HF export). The folder's checksums are verified first; a tampered release raises
    ReleaseIntegrityError. images=True decodes input_images/output_images to PIL images lazily, on access
    (Dataset only; a Table gains the raw bytes instead, as `*_image_bytes` columns). Release folders read
    image bytes from the media store (media_dir, default [paths] media_dir); HF exports carry their own.
    """
    if config not in CONFIGS:
        raise LoadError(f"unknown config {config!r}; configs are: {', '.join(CONFIGS)}")
    kind, folder = _resolve(version, releases_dir, exports_dir)
    if kind == "hf":
        try:
            doc = verify_export(folder)
        except Exception as e:
            raise ReleaseIntegrityError(folder, [str(e)]) from e
        files = [folder / f["path"] for f in doc["files"] if f.get("config") == config]
        return _load_hf(folder, files, config, as_dataset=as_dataset, images=images)

    manifest = verify_release(folder)
    table = pq.read_table([folder / f for f in manifest["configs"][config]["files"]][0])
    if not images:
        return _to_dataset(table) if as_dataset else table
    mdir = Path(media_dir) if media_dir is not None else _default_config().path("media_dir")

    def read(ref: dict) -> bytes:
        p = mdir / ref["path"]
        if not p.is_file():
            raise LoadError(f"image {ref['sha256']} is not in the media store at {p}; "
                            "load the Hugging Face export instead, or point media_dir at the store")
        return p.read_bytes()

    if not as_dataset:
        for col in IMAGE_COLUMNS:
            data = [[read(m) for m in refs] for refs in table.column(col).to_pylist()]
            table = table.append_column(col.replace("_images", "_image_bytes"),
                                        pa.array(data, type=pa.list_(pa.binary())))
        return table
    ds = _to_dataset(table)

    def decode_batch(batch: dict) -> dict:
        out = dict(batch)
        for col in IMAGE_COLUMNS:
            out[col] = [[_decode(read(m)) for m in refs] for refs in batch[col]]
        return out

    ds.set_transform(decode_batch)
    return ds


def _to_dataset(table: pa.Table):
    from datasets import Dataset
    from datasets.table import InMemoryTable

    return Dataset(InMemoryTable(table))


def _load_hf(folder: Path, files: list[Path], config: str, *, as_dataset: bool, images: bool):
    if not as_dataset:
        table = pa.concat_tables([pq.read_table(f) for f in files])
        if not images:
            return table
        # raw bytes, like the release path: decoding needs PIL objects, which only a Dataset can hold
        for col in IMAGE_COLUMNS:
            data = [[m["bytes"] for m in refs] for refs in table.column(col).to_pylist()]
            table = table.append_column(col.replace("_images", "_image_bytes"), pa.array(data, type=pa.list_(pa.binary())))
        return table
    from datasets import load_dataset

    ds = load_dataset(str(folder), config, split=SPLIT)
    # The HF datasets cache answers for the folder: check that it answered with this export's rows.
    expected = pa.concat_tables([pq.read_table(f, columns=["id"]) for f in files]).column("id").to_pylist()
    got = ds.data.column("id").to_pylist()
    if sorted(got) != sorted(expected):
        raise LoadError(f"datasets returned {len(got)} rows for {folder} ({config}), but the export holds "
                        f"{len(expected)} other rows: a stale HF datasets cache entry ({ds.cache_files[0]['filename'] if ds.cache_files else 'in memory'}); "
                        "delete it and load again")
    if not images:
        from datasets import Image

        for col in IMAGE_COLUMNS:
            ds = ds.cast_column(col, _list_of(Image(decode=False)))
    return ds


def _list_of(feature):
    from datasets import List

    return List(feature)
