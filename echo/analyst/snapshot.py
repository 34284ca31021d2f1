"""The analyst snapshot: Parquet copies of every table plus a small DuckDB file of views over them.

DuckDB allows one writer, so analysts never open the live database while a refresh runs. At the end of
each run (stage "publish") the tables are written to a new folder snapshots/<run_id>/, a DuckDB file with
one view per table (over that folder's Parquet) and the documented analyst views is built beside them,
and the `current` link is swapped to it with an atomic rename. A reader that opened the old snapshot
keeps a consistent view; the next `echo-bench sql` sees the new one. The Parquet mirror path
(paths.parquet_dir) is a link to the current snapshot's tables.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import duckdb

from echo import schema
from echo.config import Config
from echo.store import Store

KEEP_SNAPSHOTS = 3
SNAPSHOT_DB = "analyst.duckdb"


def _swap_link(link: Path, target: Path) -> None:
    """Point `link` at `target` atomically (rename over the old link)."""
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(target, link.parent), tmp)
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} exists and is not a link: move it away so echo can manage it")
    os.replace(tmp, link)


def build_snapshot(store: Store, folder: Path, previous: Path | None = None) -> dict[str, str]:
    """Write every table as Parquet into folder/tables and a views-only DuckDB file; returns each table's
    fingerprint (Store.fingerprint). Tables unchanged since the `previous` snapshot folder are linked to its
    files, not written again."""
    tables_dir = folder / "tables"
    written = store.mirror_parquet(tables_dir, _mirrored(previous) if previous is not None else None)
    db_path = folder / SNAPSHOT_DB
    tmp = folder / f".{SNAPSHOT_DB}.tmp"
    if tmp.exists():
        tmp.unlink()
    con = duckdb.connect(str(tmp))
    try:
        for name, (path, _) in written.items():
            # Absolute paths: the views must resolve from any working directory.
            con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{path.resolve()}')")
        con.execute(schema.views_ddl())
        for name, t in schema.tables().items():
            if t.comment:
                con.execute(f"COMMENT ON VIEW \"{name}\" IS '{t.comment.replace(chr(39), chr(39) * 2)}'")
        for name, doc in schema.view_docs().items():
            con.execute(f"COMMENT ON VIEW \"{name}\" IS '{doc.replace(chr(39), chr(39) * 2)}'")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, db_path)
    return {name: fp for name, (_, fp) in written.items()}


def _mirrored(folder: Path) -> dict[str, tuple[str, Path]]:
    """{table: (fingerprint, file)} of a published snapshot, from its snapshot.json (none when unreadable)."""
    try:
        meta = json.loads((folder / "snapshot.json").read_text())
    except (OSError, ValueError):
        return {}
    return {name: (fp, folder / "tables" / f"{name}.parquet") for name, fp in (meta.get("fingerprints") or {}).items()}


def publish(store: Store, config: Config, run_id: str) -> Path:
    """Build the snapshot of this run and make it current. Returns the snapshot folder."""
    root = config.path("analyst_dir")
    folder = root / "snapshots" / run_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    current = root / "current"
    fingerprints = build_snapshot(store, folder, current.resolve() if current.is_symlink() else None)
    (folder / "snapshot.json").write_text(json.dumps({
        "run_id": run_id, "published_at": dt.datetime.now(dt.UTC).isoformat(),
        "tables": store.counts(), "fingerprints": fingerprints,
    }, indent=2, sort_keys=True))
    _swap_link(root / "current", folder)
    parquet_link = config.path("parquet_dir")
    parquet_link.parent.mkdir(parents=True, exist_ok=True)
    _swap_link(parquet_link, folder / "tables")
    _prune(root / "snapshots", keep=KEEP_SNAPSHOTS, current=folder)
    return folder


def _prune(snapshots: Path, keep: int, current: Path) -> None:
    folders = sorted((p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in folders[:-keep]:
        if old.resolve() != current.resolve():
            shutil.rmtree(old, ignore_errors=True)


def load_snapshot(folder: Path, store: Store) -> None:
    """Fill `store` (a scratch database with the current schema) with a snapshot's tables; columns the
    snapshot predates stay NULL."""
    tables_dir = folder / "tables"
    for name in schema.tables():
        path = tables_dir / f"{name}.parquet"
        if not path.is_file():
            continue
        have = {r["column_name"] for r in store.query("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)])}
        cols = [c["column_name"] for c in store.query(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name = current_database() "
            "ORDER BY column_index", [name]) if c["column_name"] in have]
        col_sql = ", ".join(f'"{c}"' for c in cols)
        store.execute(f'INSERT INTO "{name}" ({col_sql}) SELECT {col_sql} FROM read_parquet(?)', [str(path)])


def rewrite_snapshots(config: Config, change, *, why: str = "takedown") -> list[Path]:
    """Apply `change(store) -> bool` to a scratch copy of every snapshot; each snapshot it changed is rebuilt
    in place (its Parquet files and view database replaced atomically, snapshot.json noting the rewrite).
    Readers that hold the old files open keep their consistent view. Returns the rewritten folders."""
    root = config.path("analyst_dir") / "snapshots"
    if not root.is_dir():
        return []
    done = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "tables").is_dir()):
        scratch = folder.parent / f".{folder.name}.rewrite.duckdb"
        for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
            leftover.unlink(missing_ok=True)
        try:
            with Store(scratch) as store:
                load_snapshot(folder, store)
                if not change(store):
                    continue
                build_snapshot(store, folder)
                meta_path = folder / "snapshot.json"
                meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {"run_id": folder.name}
                meta["tables"] = store.counts()
                meta.pop("fingerprints", None)  # of the tables before the rewrite: the next publish writes all
                meta.setdefault("rewritten", []).append({"at": dt.datetime.now(dt.UTC).isoformat(), "why": why})
                tmp = meta_path.with_name(".snapshot.json.tmp")
                tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
                os.replace(tmp, meta_path)
            done.append(folder)
        finally:
            for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
                leftover.unlink(missing_ok=True)
    return done


def current_snapshot_db(config: Config) -> Path:
    db = config.path("analyst_dir") / "current" / SNAPSHOT_DB
    if not db.exists():
        raise FileNotFoundError(f"no analyst snapshot at {db}: run `echo-bench refresh` first")
    return db.resolve()


def open_snapshot(config: Config) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current snapshot; safe while a refresh holds the live database."""
    return duckdb.connect(str(current_snapshot_db(config)), read_only=True)

