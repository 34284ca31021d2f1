"""Finish or undo what a killed freeze or export left (the order is in echo.release.journal), and mark runs
whose process died.

recover() is idempotent and cheap when nothing is wrong (a directory listing and one query); refresh calls
it first, freeze calls it before freezing, and `echo-bench releases --repair` runs it by hand. Call it with
the database open for writing: DuckDB's single-writer lock then guarantees that no other freeze is running,
so every intent and every release tmp folder belongs to a dead run. Export tmp folders can belong to an
`echo-bench export` running without the database, so those are removed only when their process is gone.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
from pathlib import Path

from echo.config import Config
from echo.release import journal
from echo.release.hf import EXPORT_MANIFEST, ExportError, default_export_dir, export_hf
from echo.release.verify import MANIFEST, ReleaseIntegrityError, sha256_file, verify_release
from echo.store import Store

log = logging.getLogger("echo.release")

QUARANTINE = ".quarantine"


def recover(store: Store, config: Config) -> list[str]:
    """Repair the releases folder, the releases table and the exports; returns what was done, one line each."""
    releases_dir = config.path("releases_dir")
    actions: list[str] = []
    _finish_intents(store, config, releases_dir, actions)
    _remove_stale_tmp(releases_dir, actions, "release")
    rows = {r["version"]: r for r in store.query(
        "SELECT version, path, status, run_id, content_hash, manifest_sha256, created_at FROM releases")}
    _record_orphan_folders(store, releases_dir, rows, actions)
    _mark_missing_folders(store, releases_dir, rows, actions)
    exports_dir = config.path("exports_dir")
    if exports_dir.is_dir():
        for d in sorted(p for p in exports_dir.iterdir() if p.is_dir()):
            _remove_stale_tmp(d, actions, "export")
    if config.release.export_hf:
        _export_newest_refresh_release(store, config, actions)
    for a in actions:
        log.warning("recovery: %s", a)
    return actions


def _quarantine(releases_dir: Path, folder: Path) -> Path:
    """Move a folder that fails verification out of the way (kept for a human, never loaded)."""
    q = releases_dir / QUARANTINE
    q.mkdir(exist_ok=True)
    dest = q / f"{folder.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%fZ}"
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    os.rename(folder, dest)
    journal.fsync_path(releases_dir)
    return dest


def _export_ok(out: Path, manifest_sha256: str) -> bool:
    p = out / EXPORT_MANIFEST
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text(encoding="utf-8")).get("release_manifest_sha256") == manifest_sha256
    except ValueError:
        return False


def _make_export(config: Config, version: str, folder: Path, out: Path, manifest_sha256: str,
                 actions: list[str]) -> bool:
    try:
        export_hf(folder, out, config, overwrite=True, manifest_sha256=manifest_sha256)
    except (ExportError, ReleaseIntegrityError, OSError) as e:
        actions.append(f"{version}: the Hugging Face export failed again ({e}); retried at the next recovery")
        return False
    actions.append(f"{version}: made the missing Hugging Face export at {out}")
    return True


def _finish_intents(store: Store, config: Config, releases_dir: Path, actions: list[str]) -> None:
    for path, intent in journal.read_intents(releases_dir):
        version = intent["version"]
        row = {**intent["row"], "created_at": dt.datetime.fromisoformat(intent["row"]["created_at"])}
        final, tmp = releases_dir / version, releases_dir / intent["tmp"]
        if not final.is_dir():
            if not tmp.is_dir():
                path.unlink()
                actions.append(f"{version}: dropped an intent whose files are gone (nothing was published)")
                continue
            os.rename(tmp, final)  # the tmp folder was complete and flushed before the intent was written
            journal.fsync_path(releases_dir)
            actions.append(f"{version}: moved the complete folder {tmp.name} into place")
        try:
            verify_release(final, expected_manifest_sha256=row["manifest_sha256"],
                           expected_content_hash=row["content_hash"])
        except ReleaseIntegrityError as e:
            dest = _quarantine(releases_dir, final)
            path.unlink()
            actions.append(f"{version}: failed verification, moved to {dest} ({'; '.join(e.problems)})")
            continue
        existing = store.query("SELECT content_hash FROM releases WHERE version = ?", [version])
        if not existing:
            store.upsert("releases", [row])
            actions.append(f"{version}: wrote the releases row its killed freeze did not")
        elif existing[0]["content_hash"] != row["content_hash"]:
            actions.append(f"{version}: the releases row has another content hash than the folder; left for a "
                           f"human ({path} kept)")
            continue
        out = Path(intent["export"]) if intent.get("export") else None
        if out is not None and not _export_ok(out, row["manifest_sha256"]):
            if not _make_export(config, version, final, out, row["manifest_sha256"], actions):
                continue
        journal.clear_intent(releases_dir, version)
        actions.append(f"{version}: published (folder, releases row{', export' if out else ''}); intent cleared")


def _remove_stale_tmp(folder: Path, actions: list[str], kind: str) -> None:
    """Tmp folders and files (`*.tmp-*-<pid>`) of processes that are gone."""
    if not folder.is_dir():
        return
    for p in sorted(folder.iterdir()):
        if not (p.name.startswith(".") and ".tmp-" in p.name):
            continue
        if journal.process_alive(journal.pid_of(p.name)) and journal.pid_of(p.name) != os.getpid():
            continue
        if p.is_dir():
            for q in [p, *p.rglob("*")]:
                if q.is_dir():
                    q.chmod(0o755)
            shutil.rmtree(p)
            actions.append(f"removed stale {kind} tmp folder {p}")
        else:
            p.unlink()
            actions.append(f"removed stale {kind} tmp file {p}")


def _record_orphan_folders(store: Store, releases_dir: Path, rows: dict[str, dict], actions: list[str]) -> None:
    """A complete version folder without its row (a killed run of an older echo, or a copy): verified
    against its own manifest and recorded, or quarantined."""
    if not releases_dir.is_dir():
        return
    for folder in sorted(releases_dir.iterdir()):
        if folder.name.startswith(".") or folder.name in rows or not (folder / MANIFEST).exists():
            continue
        try:
            manifest = verify_release(folder)
        except ReleaseIntegrityError as e:
            dest = _quarantine(releases_dir, folder)
            actions.append(f"{folder.name}: failed verification, moved to {dest} ({'; '.join(e.problems)})")
            continue
        created = dt.datetime.fromtimestamp((folder / MANIFEST).stat().st_mtime, dt.UTC)
        row = journal.release_row_of(manifest, folder, run_id=None, created_at=created,
                             manifest_sha256=sha256_file(folder / MANIFEST))
        store.upsert("releases", [row])
        rows[folder.name] = row
        actions.append(f"{folder.name}: recorded the complete folder that had no releases row")


def _folder_of(releases_dir: Path, row: dict) -> Path | None:
    for p in (Path(row["path"]), releases_dir / row["version"]):
        if (p / MANIFEST).is_file():
            return p
    return None


def _mark_missing_folders(store: Store, releases_dir: Path, rows: dict[str, dict], actions: list[str]) -> None:
    """Rows whose folder is gone are marked 'missing' (the history stays); back to 'ok' when it is restored."""
    for version, row in sorted(rows.items()):
        folder = _folder_of(releases_dir, row)
        status = row.get("status") or "ok"
        if folder is None and status != "missing":
            store.execute("UPDATE releases SET status = 'missing' WHERE version = ?", [version])
            actions.append(f"{version}: folder missing ({row['path']}); marked missing in the releases table")
        elif folder is not None and status == "missing":
            try:
                verify_release(folder, expected_manifest_sha256=row["manifest_sha256"],
                               expected_content_hash=row["content_hash"])
            except ReleaseIntegrityError:
                continue
            store.execute("UPDATE releases SET status = 'ok' WHERE version = ?", [version])
            actions.append(f"{version}: folder restored at {folder}; marked ok")


def _export_newest_refresh_release(store: Store, config: Config, actions: list[str]) -> None:
    """The newest release a refresh froze (run_id set) gets its export, if a kill (or an older echo) left
    it without one. Releases frozen by hand (`echo-bench freeze`) are exported by hand."""
    rows = store.query("SELECT version, path, manifest_sha256 FROM releases WHERE run_id IS NOT NULL "
                       "AND coalesce(status, 'ok') = 'ok' ORDER BY created_at DESC NULLS LAST, version DESC LIMIT 1")
    if not rows:
        return
    r = rows[0]
    out = default_export_dir(config, r["version"])
    folder = _folder_of(config.path("releases_dir"), r)
    if folder is not None and not _export_ok(out, r["manifest_sha256"]):
        _make_export(config, r["version"], folder, out, r["manifest_sha256"], actions)


def mark_interrupted(store: Store, *, current_run_id: str | None = None) -> list[str]:
    """Runs still 'running' whose process is gone become 'interrupted'; returns their ids.

    A run records its process (runs.pid, runs.host). Gone: on this host and no such process, or no process
    recorded (an older echo): the caller holds the database's writer lock, so no other process is running it.
    A run of this very process, or of another host, is left alone.
    """
    host = socket.gethostname()
    done = []
    for r in store.query("SELECT run_id, pid, host FROM runs WHERE status = 'running' ORDER BY run_id"):
        if r["run_id"] == current_run_id:
            continue
        if r["pid"] is not None:
            if r["host"] != host or r["pid"] == os.getpid() or journal.process_alive(r["pid"]):
                continue
            why = f"its process {r['pid']} on {host} is gone (killed or crashed)"
        else:
            why = "no process recorded and none holds the database: killed or crashed"
        store.execute("UPDATE runs SET status = 'interrupted', error = ?, finished_at = coalesce(finished_at, ?) "
                      "WHERE run_id = ?", [f"interrupted: {why}", dt.datetime.now(dt.UTC), r["run_id"]])
        done.append(r["run_id"])
    return done


def process_fields() -> dict:
    """What a new runs row records so that mark_interrupted can tell a live run from a dead one."""
    return {"pid": os.getpid(), "host": socket.gethostname()}
