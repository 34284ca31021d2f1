"""The scorers' loader: `echo.load(version, config)` reads a frozen release (or its Hugging Face export)
after verifying it, and decodes images only when asked and only when accessed.

What is checked, so that neither a forged folder nor a swapped image loads:
- every file against the folder's manifest, and the rows against the manifest's content hash;
- the content hash against an anchor outside the folder: the caller's pin (content_hash=...), and the
  database's releases row when the folder belongs to the configured releases or exports (or db= is given);
- every image against its sha256 before it is handed out (media store reads, and embedded export images).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from echo.release.hf import EXPORT_MANIFEST, IMAGE_COLUMNS, SPLIT, ExportError, verify_export
from echo.release.rows import CONFIGS
from echo.release.verify import ReleaseIntegrityError, check_pinned, verify_release


class LoadError(RuntimeError):
    pass


class AnchorWarning(UserWarning):
    """The database that anchors a release could not be read: only the folder's own manifest was checked."""


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


def _resolve(version: str, releases_dir: Path | None, exports_dir: Path | None) -> tuple[str, Path]:
    """('release' | 'hf', folder) for a version name or a folder path."""
    p = Path(version)
    if p.is_dir():
        return ("hf" if (p / EXPORT_MANIFEST).is_file() else "release"), p
    if releases_dir is not None and (releases_dir / version).is_dir():
        return "release", releases_dir / version
    if exports_dir is not None and (exports_dir / version / "hf" / EXPORT_MANIFEST).is_file():
        return "hf", exports_dir / version / "hf"
    raise LoadError(f"release {version!r} not found under {releases_dir}"
                    + (f" nor as an export under {exports_dir}" if exports_dir else ""))


def _inside(folder: Path, *roots: Path | None) -> bool:
    f = folder.resolve()
    return any(r is not None and f.is_relative_to(Path(r).resolve()) for r in roots)


def _release_row(db: Path, version: str, config) -> dict | None:
    """The releases row of `version` from the database, or from the analyst snapshot while a refresh holds
    the database's writer lock. Raises LookupError when neither can be read."""
    import duckdb

    sql = "SELECT version, content_hash, manifest_sha256 FROM releases WHERE version = ?"
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as busy:
        from echo.analyst.snapshot import current_snapshot_db

        try:
            con = duckdb.connect(str(current_snapshot_db(config)), read_only=True)
        except (duckdb.Error, FileNotFoundError, AttributeError):
            raise LookupError(f"cannot read {db} ({busy}) nor an analyst snapshot") from None
    try:
        cur = con.execute(sql, [version])
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
    except duckdb.CatalogException:  # a database without releases yet
        row = None
    finally:
        con.close()
    return dict(zip(names, row)) if row else None


def load(version: str, config: str = "text_to_image", *, as_dataset: bool = False, images: bool = False,
         content_hash: str | None = None, db: str | Path | None = None,
         releases_dir: str | Path | None = None, exports_dir: str | Path | None = None,
         media_dir: str | Path | None = None) -> Any:
    """A frozen release config as a pyarrow Table, or as a datasets.Dataset with as_dataset=True.

    version: a version name (looked up in releases_dir, then exports_dir/<version>/hf) or a folder (a release
    folder or an HF export). Without releases_dir and exports_dir they come from the config (echo.toml).
    Checked first, raising ReleaseIntegrityError: the files against the manifest, the rows against its
    content hash, that hash against `content_hash` (a pin: the full sha256 or its first 16+ characters, from
    the CHANGELOG, the dataset card or `echo-bench releases`) and against the database's releases row (`db`,
    or the config's database when the folder is one of its releases or exports).
    images=True decodes input_images/output_images to PIL images lazily, on access (Dataset only; a Table
    gains the raw bytes instead, as `*_image_bytes` columns). Release folders read image bytes from the media
    store (media_dir, default [paths] media_dir); HF exports carry their own. Every image is checked against
    its sha256 first: a swapped image raises (LoadError or ReleaseIntegrityError) naming it.
    """
    if config not in CONFIGS:
        raise LoadError(f"unknown config {config!r}; configs are: {', '.join(CONFIGS)}")
    cfg = None
    if releases_dir is None and exports_dir is None:
        cfg = _default_config()
        releases_dir, exports_dir = cfg.path("releases_dir"), cfg.path("exports_dir")
    releases_dir = Path(releases_dir) if releases_dir is not None else None
    exports_dir = Path(exports_dir) if exports_dir is not None else None
    kind, folder = _resolve(version, releases_dir, exports_dir)
    if db is None and cfg is not None and _inside(folder, releases_dir, exports_dir) and cfg.path("db").exists():
        db = cfg.path("db")

    row = _anchor_row(folder, Path(db), cfg) if db is not None else None
    expected_hash = row["content_hash"] if row else None
    if kind == "hf":
        try:
            doc = verify_export(folder, expected_content_hash=expected_hash, image_configs=(config,))
        except ExportError as e:
            raise ReleaseIntegrityError(folder, e.problems) from e
        manifest = doc["release_manifest"]
        if row and row["manifest_sha256"] and doc["release_manifest_sha256"] != row["manifest_sha256"]:
            raise ReleaseIntegrityError(folder, [
                f"the export names release manifest {doc['release_manifest_sha256']}, the database's releases row "
                f"{row['manifest_sha256']}"])
    else:
        manifest = verify_release(folder, expected_manifest_sha256=row["manifest_sha256"] if row else None,
                                  expected_content_hash=expected_hash)
    if content_hash is not None:
        check_pinned(folder, manifest["content_hash"], content_hash)

    if kind == "hf":
        files = [folder / f["path"] for f in doc["files"] if f.get("config") == config]
        return _load_hf(folder, files, config, as_dataset=as_dataset, images=images)
    table = pq.read_table([folder / f for f in manifest["configs"][config]["files"]][0])
    if not images:
        return _to_dataset(table) if as_dataset else table
    if media_dir is None:
        media_dir = (cfg or _default_config()).path("media_dir")
    mdir = Path(media_dir)

    def read(ref: dict, where: str) -> bytes:
        p = mdir / ref["path"]
        if not p.is_file():
            raise LoadError(f"image {ref['sha256']} ({where}) is not in the media store at {p}; "
                            "load the Hugging Face export instead, or point media_dir at the store")
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() != ref["sha256"]:
            raise LoadError(f"image {p} does not match its sha256 {ref['sha256']} ({where}): the media store "
                            "holds another image under that name; refusing to load it")
        return data

    if not as_dataset:
        ids = table.column("id").to_pylist()
        for col in IMAGE_COLUMNS:
            data = [[read(m, f"row {sid} {col}[{i}]") for i, m in enumerate(refs)]
                    for sid, refs in zip(ids, table.column(col).to_pylist())]
            table = table.append_column(col.replace("_images", "_image_bytes"),
                                        pa.array(data, type=pa.list_(pa.binary())))
        return table
    ds = _to_dataset(table)

    def decode_batch(batch: dict) -> dict:
        out = dict(batch)
        for col in IMAGE_COLUMNS:
            out[col] = [[_decode(read(m, f"row {sid} {col}[{i}]")) for i, m in enumerate(refs)]
                        for sid, refs in zip(batch["id"], batch[col])]
        return out

    ds.set_transform(decode_batch)
    return ds


def _anchor_row(folder: Path, db: Path, config) -> dict | None:
    """The database's releases row that anchors this folder; None (with a warning) when the database cannot
    be read. A folder the database does not know is refused."""
    version = _folder_version(folder)
    try:
        row = _release_row(db, version, config)
    except LookupError as e:
        warnings.warn(f"{e}: {folder} was checked against its own manifest only", AnchorWarning, stacklevel=3)
        return None
    if row is None:
        raise ReleaseIntegrityError(folder, [
            f"release {version} is not in the database's releases table ({db}): a folder echo did not record "
            "(`echo-bench releases --repair` records a complete one), or load it with content_hash=... pinned"])
    return row


def _folder_version(folder: Path) -> str:
    import json

    if (folder / EXPORT_MANIFEST).is_file():
        try:
            return json.loads((folder / EXPORT_MANIFEST).read_text(encoding="utf-8"))["version"]
        except (ValueError, KeyError):
            raise ReleaseIntegrityError(folder, [f"{EXPORT_MANIFEST}: not an echo export manifest"]) from None
    return folder.name


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
