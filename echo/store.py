"""DuckDB storage. Tables come from schemas/tables; every write is an idempotent upsert."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from echo import runlock, schema


class StoreError(RuntimeError):
    pass


# Columns that record when or in which run a row was written, not what it says: content hashes leave them out,
# so two runs over the same input compare equal. posts.created_at is the post's own date and stays in.
BOOKKEEPING_COLUMNS = frozenset({
    "run_id", "last_run_id", "fetched_at", "updated_at", "recorded_at", "imported_at", "extracted_at",
    "decided_at", "requested_at", "created_at", "started_at", "finished_at",
})
CONTENT_COLUMNS_KEPT = frozenset({("posts", "created_at")})
# Columns renamed since databases were first made: (table, old name) -> new name. Applied on open.
RENAMED_COLUMNS = {
    ("relevance", "stage"): "judge",  # cheap, prefilter or llm: who decided, not a pipeline stage
    ("llm_cache", "stage"): "step",  # a step of the LLM chain
    ("llm_usage", "stage"): "step",
    ("llm_failures", "stage"): "step",
}
# Tables about runs rather than data, and release columns that depend on the run or the machine: the release
# files carry their source run ids (lineage) and salted author pseudonyms, so their hash differs per run.
BOOKKEEPING_TABLES = frozenset({"runs", "llm_usage"})
BOOKKEEPING_RELEASE_COLUMNS = frozenset({"path", "manifest", "manifest_sha256", "content_hash"})


def _to_row(record: Any) -> dict:
    if dataclasses.is_dataclass(record):
        return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    if isinstance(record, Mapping):
        return dict(record)
    raise TypeError(f"cannot store {type(record).__name__}: expected a record dataclass or a mapping")


def _json_default(o: Any) -> Any:
    if isinstance(o, (dt.datetime, dt.date)):
        return o.isoformat()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if dataclasses.is_dataclass(o):
        return dataclasses.asdict(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def to_json(value: Any) -> str | None:
    """JSON text for a JSON column: strings that already hold JSON are kept as they are."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            return json.dumps(value)
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


MIRROR_BATCH_ROWS = 65_536  # rows per Parquet row group of a mirrored table


class Store:
    """One DuckDB database. Thread-safe for the pipeline's use: a lock guards the connection."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False):
        self.path = Path(path) if path not in (None, ":memory:") else None
        if self.path is not None and not read_only:
            runlock.check_writable(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path) if self.path else ":memory:", read_only=read_only)
        except duckdb.IOException as e:
            # one line that names the holder (a refresh, with PID and start) or the unwritable folder
            raise runlock.open_error(self.path, e, read_only=read_only) from e
        # One clock on every machine (day buckets, casts to DATE); UTC datetimes also come back to Python
        # a third faster than a named zone's (2.7 s -> 1.8 s for 67k posts with two timestamps).
        self.con.execute("SET TimeZone = 'UTC'")
        self.read_only = read_only
        self._lock = threading.RLock()
        if not read_only:
            self.init_schema()

    # -- schema ----------------------------------------------------------------------------------
    def init_schema(self) -> None:
        """Create missing tables and add columns that the DDL gained since the file was made."""
        with self._lock:
            parsed = self.con.extract_statements(schema.ddl())
            statements = [st.query for st in parsed]
            creates = [st.query for st in parsed if st.type == duckdb.StatementType.CREATE]
            for q in creates:
                self.con.execute(q)
            self._rename_columns()
            existing = {
                (t, c)
                for t, c in self.con.execute(
                    "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database()"
                ).fetchall()
            }
            for t in schema.tables().values():
                for c in t.columns:
                    if (t.name, c.name) not in existing:
                        self.con.execute(f'ALTER TABLE "{t.name}" ADD COLUMN "{c.name}" {c.type}')
            for q in statements:
                if q not in creates:
                    self.con.execute(q)
            self.con.execute(schema.views_ddl())

    def _rename_columns(self) -> None:
        columns = set(self.con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database()").fetchall())
        for (table, old), new in RENAMED_COLUMNS.items():
            if (table, old) in columns and (table, new) not in columns:
                self.con.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{old}" TO "{new}"')

    # -- reads -----------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence | Mapping | None = None) -> list[dict]:
        with self._lock:
            cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
            cols = [d[0] for d in cur.description] if cur.description else []
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def scalar(self, sql: str, params: Sequence | Mapping | None = None) -> Any:
        with self._lock:
            row = (self.con.execute(sql, params) if params is not None else self.con.execute(sql)).fetchone()
            return row[0] if row else None

    def arrow(self, sql: str, params: Sequence | Mapping | None = None) -> pa.Table:
        with self._lock:
            cur = self.con.execute(sql, params) if params is not None else self.con.execute(sql)
            return cur.arrow()

    def records(self, table: str, where: str = "", params: Sequence | Mapping | None = None) -> list[Any]:
        """Rows of a table as its record type."""
        cls = schema.record_type(table)
        cols = ", ".join(f'"{c}"' for c in schema.table(table).column_names)
        rows = self.query(f'SELECT {cols} FROM "{table}" {where}', params)
        return [cls(**r) for r in rows]

    def count(self, table: str) -> int:
        return int(self.scalar(f'SELECT count(*) FROM "{table}"'))

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in sorted(schema.tables())}

    def fingerprint(self, table: str) -> str:
        """Changes whenever any row of `table` does (row count plus the sum of DuckDB's row hashes, with the
        DuckDB version and the table's Arrow schema): cheap enough to ask whether a table changed since its
        last copy was written (0.3 s for 100k posts), not a content hash to publish."""
        with self._lock:
            n, total = self.con.execute(f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{table}" t').fetchone()
        schema_id = hashlib.sha256(schema.arrow_schema(table).to_string().encode()).hexdigest()[:12]
        return f"{duckdb.__version__}:{schema_id}:{n}:{total or 0}"

    def content_hash(self, table: str, *, float_digits: int = 5) -> str:
        """sha256 over a table's rows without its bookkeeping columns (run ids, write times), in a stable order.

        Floats are rounded to `float_digits` decimals: the same embedding computed in another batch differs
        in the last bits. Two runs over the same input give the same hash.
        """
        t = schema.table(table)
        exprs = []
        for c in t.columns:
            if c.name in BOOKKEEPING_COLUMNS and (table, c.name) not in CONTENT_COLUMNS_KEPT:
                continue
            if table == "releases" and c.name in BOOKKEEPING_RELEASE_COLUMNS:
                continue
            if c.type in ("DOUBLE", "FLOAT"):
                exprs.append(f'round("{c.name}", {float_digits})')
            elif c.type in ("DOUBLE[]", "FLOAT[]"):
                exprs.append(f'list_transform("{c.name}", x -> round(x, {float_digits}))')
            else:
                exprs.append(f'"{c.name}"')
        row = "to_json(struct_pack(" + ", ".join(f"c{i} := {e}" for i, e in enumerate(exprs)) + "))::VARCHAR"
        h = hashlib.sha256()
        with self._lock:
            cur = self.con.execute(f'SELECT {row} AS r FROM "{table}" ORDER BY r')
            while batch := cur.fetchmany(10_000):
                for (r,) in batch:
                    h.update(r.encode("utf-8"))
                    h.update(b"\n")
        return h.hexdigest()

    def content_hashes(self) -> dict[str, str]:
        """content_hash of every data table (run bookkeeping tables left out)."""
        return {t: self.content_hash(t) for t in sorted(schema.tables()) if t not in BOOKKEEPING_TABLES}

    # -- writes ----------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence | Mapping | None = None) -> None:
        with self._lock:
            if params is not None:
                self.con.execute(sql, params)
            else:
                self.con.execute(sql)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def _arrow_batch(self, table: str, rows: list[dict]) -> pa.Table:
        t = schema.table(table)
        json_cols = [c.name for c in t.columns if c.type == "JSON"]
        defaults = {c.name: c.default for c in t.columns if c.has_default}
        names = set(t.column_names)
        for r in rows:
            unknown = set(r) - names
            if unknown:
                raise StoreError(f"{table}: unknown column(s) {sorted(unknown)}")
            for c, d in defaults.items():
                if c in r and r[c] is None:
                    r[c] = d
            for c in json_cols:
                if c in r:
                    r[c] = to_json(r[c])
        try:
            return pa.Table.from_pylist(rows, schema=schema.arrow_schema(table))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise StoreError(f"{table}: a row does not fit the schema: {e}") from e

    def upsert(
        self,
        table: str,
        records: Iterable[Any],
        *,
        update: Sequence[str] | None = None,
        ignore_existing: bool = False,
    ) -> int:
        """Insert rows; on a primary-key conflict update `update` columns (default: all non-key columns).

        `ignore_existing=True` keeps the stored row untouched instead. Within one batch the last row for a
        key wins. Returns the number of rows written.
        """
        t = schema.table(table)
        if not t.primary_key:
            raise StoreError(f"{table} has no primary key; upsert needs one")
        by_key: dict[tuple, dict] = {}
        for rec in records:
            row = _to_row(rec)
            missing = [k for k in t.primary_key if row.get(k) is None]
            if missing:
                raise StoreError(f"{table}: row without primary key column(s) {missing}: {str(row)[:200]}")
            by_key[tuple(row[k] for k in t.primary_key)] = row
        if not by_key:
            return 0
        batch = self._arrow_batch(table, list(by_key.values()))
        cols = t.column_names
        quoted = ", ".join(f'"{c}"' for c in cols)
        pk = ", ".join(f'"{c}"' for c in t.primary_key)
        if ignore_existing:
            action = "DO NOTHING"
        else:
            upd = [c for c in (update if update is not None else cols) if c not in t.primary_key]
            if not upd:
                action = "DO NOTHING"
            else:
                # A column absent from every incoming row keeps its stored value.
                present = set().union(*(r.keys() for r in by_key.values()))
                upd = [c for c in upd if c in present]
                action = ("DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in upd)) if upd else "DO NOTHING"
        with self._lock:
            view = f"_incoming_{table}_{threading.get_ident()}"
            self.con.register(view, batch)
            try:
                self.con.execute(f'INSERT INTO "{table}" ({quoted}) SELECT {quoted} FROM "{view}" ON CONFLICT ({pk}) {action}')
            finally:
                self.con.unregister(view)
        return len(by_key)

    def delete(self, table: str, where: str, params: Sequence | Mapping | None = None) -> int:
        with self._lock:
            n = self.scalar(f'SELECT count(*) FROM "{table}" WHERE {where}', params)
            self.execute(f'DELETE FROM "{table}" WHERE {where}', params)
            return int(n or 0)

    # -- exports ---------------------------------------------------------------------------------
    def mirror_parquet(self, out_dir: str | os.PathLike,
                       previous: Mapping[str, tuple[str, Path]] | None = None) -> dict[str, tuple[Path, str]]:
        """Write every table to out_dir/<table>.parquet (atomically: write then rename); returns
        {table: (file, fingerprint)}. A table whose fingerprint equals that of its file in `previous`
        ({table: (fingerprint, file)}, an earlier mirror) gets a hard link to that file instead (a copy where
        links cannot be made): a nightly run leaves most tables as they were."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        previous = previous or {}
        written = {}
        for name in sorted(schema.tables()):
            target, tmp = out / f"{name}.parquet", out / f".{name}.parquet.tmp"
            tmp.unlink(missing_ok=True)
            fp = self.fingerprint(name)
            old_fp, old_file = previous.get(name, (None, None))
            if old_fp == fp and old_file is not None and Path(old_file).is_file():
                try:
                    os.link(old_file, tmp)
                except OSError:
                    shutil.copyfile(old_file, tmp)
            else:
                target_schema = schema.arrow_schema(name)
                # batch by batch: a whole table in memory was 150+ MB of raw JSON for 100k posts
                with self._lock, pq.ParquetWriter(tmp, target_schema, compression="zstd") as writer:
                    for batch in self.con.execute(f'SELECT * FROM "{name}"').to_arrow_reader(MIRROR_BATCH_ROWS):
                        writer.write_table(pa.Table.from_batches([batch]).cast(target_schema))
            os.replace(tmp, target)
            written[name] = (target, fp)
        return written

    def checkpoint(self) -> None:
        with self._lock:
            self.con.execute("CHECKPOINT")

    def compact(self) -> tuple[int, int]:
        """Rewrite the database file so that deleted rows leave no bytes behind: DuckDB reuses freed blocks but
        never clears them, so a forgotten post's text stays readable in the file until then. Every table, view,
        constraint and comment is copied into a fresh file that replaces the old one while this connection still
        holds the writer lock (no other process can write in between). Closes the store; returns the file size
        before and after."""
        db = self.path
        if db is None:
            self.close()
            return 0, 0
        tmp = db.with_name(f".{db.name}.compact-{os.getpid()}")
        wal = tmp.with_name(tmp.name + ".wal")
        for p in (tmp, wal):
            p.unlink(missing_ok=True)
        before = db.stat().st_size
        try:
            with self._lock:
                name = self.scalar("SELECT current_database()")
                self.execute("ATTACH '" + str(tmp).replace("'", "''") + "' AS echo_compact")
                try:
                    self.execute(f'COPY FROM DATABASE "{name}" TO echo_compact')
                    self.execute("CHECKPOINT echo_compact")
                finally:
                    self.execute("DETACH echo_compact")
                self.execute("CHECKPOINT")
                if wal.exists():
                    raise duckdb.IOException(f"{wal} left after the copy: the compacted file is incomplete")
                fsync_path(tmp)
                os.replace(tmp, db)
                fsync_path(db.parent)
        finally:
            tmp.unlink(missing_ok=True)
            self.close()
        return before, db.stat().st_size

    def close(self) -> None:
        with self._lock:
            self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a rename is durable only once its folder is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
