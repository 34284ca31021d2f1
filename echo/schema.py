"""Access to schemas/: the one definition of every table and JSON document.

Tables are DuckDB DDL (schemas/tables/*.sql). Record types, Arrow schemas for
Parquet and the analyst docs are all derived from that DDL, never restated.
JSON Schemas (schemas/llm, schemas/release) validate LLM answers and manifests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import jsonschema
import pyarrow as pa


class SchemaError(ValueError):
    """A document does not match its JSON Schema."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    has_default: bool
    comment: str | None
    default: Any = None


@dataclass(frozen=True)
class Table:
    name: str
    comment: str | None
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _root():
    """schemas/ ships in the wheel as echo.schemas; in a source checkout it is the top-level folder."""
    try:
        return resources.files("echo.schemas")
    except ModuleNotFoundError:
        here = Path(__file__).resolve().parent.parent / "schemas"
        if not (here / "tables").is_dir():
            raise RuntimeError(f"schemas not found: neither echo.schemas nor {here}") from None
        return here


@functools.cache
def ddl() -> str:
    """All table DDL, in file-name order. Every statement is idempotent (IF NOT EXISTS)."""
    files = sorted((f for f in (_root() / "tables").iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    if not files:
        raise RuntimeError("schemas/tables/*.sql not found: is the echo package installed with its data?")
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


@functools.cache
def views_ddl() -> str:
    """Analyst views (schemas/views/*.sql): defined over table names, so they work on the live DB and the snapshot."""
    folder = _root() / "views"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return "\n".join(f.read_text(encoding="utf-8") for f in files)


def view_docs() -> dict[str, str]:
    """View name -> its leading comment, for `echo-bench sql --views` and the README."""
    import re

    docs = {}
    for block in views_ddl().split("CREATE OR REPLACE VIEW ")[1:]:
        name = block.split()[0]
        docs[name] = ""
    for m in re.finditer(r"((?:--[^\n]*\n)+)CREATE OR REPLACE VIEW (\w+)", views_ddl()):
        docs[m.group(2)] = " ".join(line.lstrip("- ").strip() for line in m.group(1).splitlines())
    return docs


@functools.cache
def tables() -> dict[str, Table]:
    con = duckdb.connect(":memory:")
    con.execute(ddl())
    out: dict[str, Table] = {}
    comments = dict(con.execute("SELECT table_name, comment FROM duckdb_tables()").fetchall())
    pks = {
        t: tuple(cols)
        for t, cols in con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    }
    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, comment "
        "FROM duckdb_columns() WHERE NOT internal ORDER BY table_name, column_index"
    ).fetchall()
    by_table: dict[str, list[Column]] = {}
    for t, name, typ, nullable, default_sql, comment in rows:
        default = con.execute(f"SELECT {default_sql}").fetchone()[0] if default_sql is not None else None
        by_table.setdefault(t, []).append(Column(name, typ, nullable, default_sql is not None, comment, default))
    for t, cols in by_table.items():
        out[t] = Table(t, comments.get(t), tuple(cols), pks.get(t, ()))
    con.close()
    return out


def table(name: str) -> Table:
    try:
        return tables()[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in schemas/tables (have: {', '.join(sorted(tables()))})") from None


@functools.cache
def _arrow_schemas() -> dict[str, pa.Schema]:
    con = duckdb.connect(":memory:")  # one scratch database for every table: creating it costs ~0.3 s
    try:
        con.execute(ddl())
        return {name: con.execute(f'SELECT * FROM "{name}" LIMIT 0').arrow().schema for name in tables()}
    finally:
        con.close()


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema DuckDB itself uses for the table: Parquet mirrors and batch inserts share it."""
    table(name)  # an unknown name is a clear KeyError
    return _arrow_schemas()[name]


_PY_TYPES = {
    "VARCHAR": str,
    "BOOLEAN": bool,
    "INTEGER": int,
    "BIGINT": int,
    "DOUBLE": float,
    "FLOAT": float,
    "TIMESTAMP WITH TIME ZONE": dt.datetime,
    "TIMESTAMP": dt.datetime,
    "DATE": dt.date,
    "JSON": Any,
}


def _py_type(sql_type: str) -> Any:
    if sql_type.endswith("[]"):
        return list[_py_type(sql_type[:-2])]
    return _PY_TYPES.get(sql_type, Any)


@functools.cache
def record_type(name: str) -> type:
    """A keyword-only dataclass whose fields are exactly the table's columns.

    Required fields are the NOT NULL columns without a default; everything else defaults to None.
    """
    t = table(name)
    fields = []
    for c in t.columns:
        typ = _py_type(c.type)
        if c.nullable or c.has_default:
            fields.append((c.name, typ | None if typ is not Any else Any, dataclasses.field(default=c.default)))
        else:
            fields.append((c.name, typ))
    cls_name = "".join(p.capitalize() for p in name.split("_")) + "Record"
    cls = dataclasses.make_dataclass(cls_name, fields, kw_only=True, frozen=False)
    cls.__doc__ = t.comment
    cls.TABLE = name  # type: ignore[attr-defined]
    return cls


# --- JSON Schemas -------------------------------------------------------------------------------


@functools.cache
def json_schema(name: str) -> dict:
    """Load schemas/<name>.json, e.g. json_schema('llm/relevance') or json_schema('release/manifest')."""
    path = _root().joinpath(*f"{name}.json".split("/"))
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyError(f"no JSON Schema schemas/{name}.json") from None
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema(name))


def validate(name: str, document: Any) -> Any:
    """Validate a document against schemas/<name>.json; raise SchemaError listing every problem."""
    validator = _validator(name)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:10]]
        raise SchemaError(f"{name}: " + "; ".join(lines))
    return document
