"""Integrity of a frozen release folder: every file listed in manifest.json, with its sha256 and size, and
the rows against the release's content hash (sha256 over the rows as canonical JSON).

The manifest is inside the folder, so a forger can rewrite it with the data. The anchors outside the folder
are the content hash and the manifest's sha256 in the database's releases row (the content hash is also in
CHANGELOG.md, the dataset card, and whatever a scorer pinned): pass them as expected_*.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pyarrow.parquet as pq

from echo import schema
from echo.release.rows import BENCHMARK_CONFIGS, CONFIGS
from echo.store import sha256_file

MANIFEST = "manifest.json"


class ReleaseIntegrityError(RuntimeError):
    """A release folder does not match its manifest (tampered, truncated, or with extra files)."""

    def __init__(self, release_dir: Path, problems: list[str]):
        self.release_dir = release_dir
        self.problems = problems
        super().__init__(f"release {release_dir} failed verification:\n  " + "\n  ".join(problems))


def rows_hash(rows: Mapping[str, Iterable[dict]]) -> str:
    """The content hash: sha256 over every config's rows as canonical JSON, independent of the Parquet
    writer, so the frozen files, the HF export and the rows in memory all give the same value."""
    h = hashlib.sha256()
    for cfg in CONFIGS:
        h.update(f"config\x1f{cfg}\n".encode())
        for r in rows.get(cfg, ()):
            h.update(json.dumps(r, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8") + b"\n")
    return h.hexdigest()


def iter_rows(path: Path, columns: list[str] | None = None, batch_size: int = 4096) -> Iterator[dict]:
    """The rows of a Parquet file, a batch at a time (hashing a large release never holds it all)."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=columns):
        yield from batch.to_pylist()


def release_content_hash(release_dir: Path, manifest: dict) -> str:
    """The content hash recomputed from a release folder's data files."""
    return rows_hash({cfg: (r for f in info["files"] for r in iter_rows(Path(release_dir) / f))
                      for cfg, info in manifest["configs"].items()})


_CONTENT_HASHES: dict[tuple, str] = {}


def _memo_content_hash(release_dir: Path, manifest: dict, digests: list[tuple[str, str]]) -> str:
    """release_content_hash, computed once per process for the same bytes (loading every config of a release
    hashes its rows once)."""
    key = (str(Path(release_dir).resolve()), json.dumps(manifest["configs"], sort_keys=True), tuple(sorted(digests)))
    if key not in _CONTENT_HASHES:
        _CONTENT_HASHES[key] = release_content_hash(release_dir, manifest)
    return _CONTENT_HASHES[key]


def check_pinned(folder: Path, content_hash: str, pinned: str) -> None:
    """Refuse a release whose content hash is not the one the caller pinned (the full hash, or 16+ characters)."""
    p = (pinned or "").strip().lower()
    if len(p) < 16 or any(c not in "0123456789abcdef" for c in p):
        raise ValueError(f"content_hash={pinned!r}: give the release's sha256 content hash (at least 16 hex "
                         "characters), as printed in its CHANGELOG.md, dataset card or `echo-bench releases`")
    if not content_hash.startswith(p):
        raise ReleaseIntegrityError(Path(folder), [f"content hash {content_hash} is not the pinned {pinned}: "
                                                   "this is not the release you asked for"])


def read_manifest(release_dir: Path) -> dict:
    p = Path(release_dir) / MANIFEST
    if not p.is_file():
        raise ReleaseIntegrityError(Path(release_dir), [f"{MANIFEST}: missing"])
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ReleaseIntegrityError(Path(release_dir), [f"{MANIFEST}: not valid JSON: {e}"]) from None


def verify_release(release_dir: str | Path, *, expected_manifest_sha256: str | None = None,
                   expected_content_hash: str | None = None) -> dict:
    """Recompute every checksum and the content hash; return the manifest, or raise ReleaseIntegrityError
    listing every problem.

    expected_manifest_sha256 and expected_content_hash (from the releases table) also catch a manifest
    rewritten together with the data. When the manifest matches expected_manifest_sha256 it is the one
    frozen, so files matching it hold the rows its content hash was computed from: the rows are not hashed
    again (hashing costs about 13 s per 100,000 rows, BENCHMARKS.md; the file checksums well under one).
    """
    release_dir = Path(release_dir)
    if not release_dir.is_dir():
        raise ReleaseIntegrityError(release_dir, ["release folder does not exist"])
    manifest = read_manifest(release_dir)
    problems: list[str] = []
    anchored = False
    if expected_manifest_sha256:
        got = sha256_file(release_dir / MANIFEST)
        anchored = got == expected_manifest_sha256
        if not anchored:
            problems.append(f"{MANIFEST}: sha256 expected {expected_manifest_sha256} (the database's releases "
                            f"row), got {got} (the manifest was edited after the freeze)")
    try:
        schema.validate("release/manifest", manifest)
    except schema.SchemaError as e:
        problems.append(f"{MANIFEST}: {e}")
        raise ReleaseIntegrityError(release_dir, problems) from None
    if manifest["version"] != release_dir.name:
        problems.append(f"{MANIFEST}: version {manifest['version']!r} but the folder is {release_dir.name!r}")
    listed = {f["path"] for f in manifest["files"]}
    digests = []
    for f in manifest["files"]:
        p = release_dir / f["path"]
        if not p.is_file():
            problems.append(f"{f['path']}: missing")
            continue
        size = p.stat().st_size
        if size != f["size"]:
            problems.append(f"{f['path']}: size expected {f['size']}, got {size}")
        digest = sha256_file(p)
        digests.append((f["path"], digest))
        if digest != f["sha256"]:
            problems.append(f"{f['path']}: sha256 expected {f['sha256']}, got {digest}")
        elif f["rows"] is not None:
            rows = pq.ParquetFile(p).metadata.num_rows
            if rows != f["rows"]:
                problems.append(f"{f['path']}: rows expected {f['rows']}, got {rows}")
    for p in sorted(release_dir.rglob("*")):
        rel = p.relative_to(release_dir).as_posix()
        if p.is_file() and rel != MANIFEST and rel not in listed:
            problems.append(f"{rel}: extra file not in the manifest")
    if not any(not p.startswith(MANIFEST) for p in problems):  # every data file readable: hash the rows
        got = manifest["content_hash"] if anchored else _memo_content_hash(release_dir, manifest, digests)
        if got != manifest["content_hash"]:
            problems.append(f"rows hash to {got}, the manifest says {manifest['content_hash']} "
                            "(data rewritten after the freeze)")
        if expected_content_hash and got != expected_content_hash:
            problems.append(f"content hash {got}, but the database's releases row says {expected_content_hash}")
    if problems:
        raise ReleaseIntegrityError(release_dir, problems)
    return manifest


def parent_benchmark_ids(parent_dir: Path) -> set[str]:
    manifest = read_manifest(parent_dir)
    ids: set[str] = set()
    for cfg in BENCHMARK_CONFIGS:
        for f in manifest["configs"].get(cfg, {}).get("files", []):
            ids.update(pq.read_table(parent_dir / f, columns=["id"]).column("id").to_pylist())
    return ids
