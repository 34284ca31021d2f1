"""The publishing journal: what makes freeze and export crash-consistent, and the kill points that test it.

A release is published in this order; recovery (echo.release.recover) finishes or undoes a killed run from
whatever step it reached:

1. write the release into `<releases_dir>/.tmp-<version>-<pid>/` and fsync it      crash: tmp removed
2. write the intent `<releases_dir>/.intent-<version>.json` (the releases row to write and the export to
   make), atomically, fsynced                                                      crash: rolled forward
3. rename the tmp folder to `<releases_dir>/<version>/`, fsync the parent          crash: rolled forward
4. write the releases row (one DuckDB commit)                                      crash: rolled forward
5. export to `<exports_dir>/<version>/hf/` (tmp folder, fsync, rename)             crash: export remade
6. delete the intent

So a version folder is never half-written, a folder never lacks its row for longer than one recovery,
and the content hash in the row makes an unchanged re-run freeze nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from echo.store import fsync_path

INTENT_PREFIX = ".intent-"
TMP_PREFIX = ".tmp-"


def fsync_tree(root: Path) -> None:
    """Flush every file and folder under root (and root itself) to disk before it is renamed into place."""
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(Path(dirpath) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_path(Path(dirpath))


def write_atomic(path: Path, text: str) -> None:
    """Write a small file so that a crash leaves the old content or the new, never a part."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def tmp_release_dir(releases_dir: Path, version: str) -> Path:
    return releases_dir / f"{TMP_PREFIX}{version}-{os.getpid()}"


def intent_path(releases_dir: Path, version: str) -> Path:
    return releases_dir / f"{INTENT_PREFIX}{version}.json"


def write_intent(releases_dir: Path, version: str, doc: dict) -> Path:
    p = intent_path(releases_dir, version)
    write_atomic(p, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
    return p


def read_intents(releases_dir: Path) -> list[tuple[Path, dict]]:
    """Every intent left in releases_dir, oldest version name first."""
    if not releases_dir.is_dir():
        return []
    out = []
    for p in sorted(releases_dir.glob(f"{INTENT_PREFIX}*.json")):
        out.append((p, json.loads(p.read_text(encoding="utf-8"))))
    return out


def clear_intent(releases_dir: Path, version: str) -> None:
    p = intent_path(releases_dir, version)
    if p.exists():
        p.unlink()
        fsync_path(releases_dir)


def pid_of(name: str) -> int | None:
    """The writer's pid, the last part of every tmp name echo makes: `.tmp-<version>-<pid>`,
    `.<folder>.tmp-<random>-<pid>`, `<file>.tmp-<pid>`."""
    last = name.rsplit("-", 1)[-1]
    return int(last) if last.isdigit() else None


def process_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def release_row_of(manifest: dict, folder: Path, *, run_id: str | None, created_at: dt.datetime,
                   manifest_sha256: str) -> dict:
    """The releases row of a frozen folder (the one definition: freeze and recovery both write it)."""
    return {"version": manifest["version"], "parent_version": manifest["parent_version"], "path": str(folder),
            "content_hash": manifest["content_hash"], "config_hash": manifest["config_hash"],
            "code_version": manifest["code_version"], "manifest": manifest, "run_id": run_id,
            "created_at": created_at, "manifest_sha256": manifest_sha256, "status": "ok"}
