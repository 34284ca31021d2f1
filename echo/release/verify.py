"""Integrity of a frozen release folder: every file listed in manifest.json, with its sha256 and size."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from echo import schema

MANIFEST = "manifest.json"


class ReleaseIntegrityError(RuntimeError):
    """A release folder does not match its manifest (tampered, truncated, or with extra files)."""

    def __init__(self, release_dir: Path, problems: list[str]):
        self.release_dir = release_dir
        self.problems = problems
        super().__init__(f"release {release_dir} failed verification:\n  " + "\n  ".join(problems))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(release_dir: Path) -> dict:
    p = Path(release_dir) / MANIFEST
    if not p.is_file():
        raise ReleaseIntegrityError(Path(release_dir), [f"{MANIFEST}: missing"])
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ReleaseIntegrityError(Path(release_dir), [f"{MANIFEST}: not valid JSON: {e}"]) from None


def verify_release(release_dir: str | Path, *, expected_manifest_sha256: str | None = None) -> dict:
    """Recompute every checksum; return the manifest, or raise ReleaseIntegrityError listing every problem.

    expected_manifest_sha256 (from the releases table) also catches a manifest edited to match edited files.
    """
    release_dir = Path(release_dir)
    if not release_dir.is_dir():
        raise ReleaseIntegrityError(release_dir, ["release folder does not exist"])
    manifest = read_manifest(release_dir)
    problems: list[str] = []
    if expected_manifest_sha256:
        got = sha256_file(release_dir / MANIFEST)
        if got != expected_manifest_sha256:
            problems.append(f"{MANIFEST}: sha256 expected {expected_manifest_sha256}, got {got} "
                            "(the manifest was edited after the freeze)")
    try:
        schema.validate("release/manifest", manifest)
    except schema.SchemaError as e:
        problems.append(f"{MANIFEST}: {e}")
        raise ReleaseIntegrityError(release_dir, problems) from None
    if manifest["version"] != release_dir.name:
        problems.append(f"{MANIFEST}: version {manifest['version']!r} but the folder is {release_dir.name!r}")
    listed = {f["path"] for f in manifest["files"]}
    for f in manifest["files"]:
        p = release_dir / f["path"]
        if not p.is_file():
            problems.append(f"{f['path']}: missing")
            continue
        size = p.stat().st_size
        if size != f["size"]:
            problems.append(f"{f['path']}: size expected {f['size']}, got {size}")
        digest = sha256_file(p)
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
    if problems:
        raise ReleaseIntegrityError(release_dir, problems)
    return manifest
