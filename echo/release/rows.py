"""Release row schemas: schemas/release/<config>.json is the one definition; Arrow schemas derive from it."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import fastjsonschema
import pyarrow as pa
from referencing import Registry, Resource

from echo import schema
from echo.schema import SchemaError

CONFIGS = ("text_to_image", "image_to_image", "analysis")
BENCHMARK_CONFIGS = ("text_to_image", "image_to_image")
_DOCS = ("common",) + CONFIGS


@functools.cache
def _registry() -> Registry:
    resources = [(schema.json_schema(f"release/{n}")["$id"], Resource.from_contents(schema.json_schema(f"release/{n}")))
                 for n in _DOCS]
    return Registry().with_resources(resources)


def _resolve_ref(ref: str) -> dict:
    return _registry().resolver(base_uri="echo/release/").lookup(ref).contents


def resolved(node: Any) -> Any:
    """A copy of a schema node with every $ref replaced by its target (siblings of $ref are merged in)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = resolved(_resolve_ref(node["$ref"]))
            extra = {k: resolved(v) for k, v in node.items() if k != "$ref"}
            return {**target, **extra}
        return {k: resolved(v) for k, v in node.items() if k not in ("$defs",)}
    if isinstance(node, list):
        return [resolved(v) for v in node]
    return node


@functools.cache
def row_schema(config: str) -> dict:
    """The row JSON Schema of a release config with references resolved (what the manifest carries)."""
    if config not in CONFIGS:
        raise KeyError(f"unknown release config {config!r}; configs are: {', '.join(CONFIGS)}")
    return resolved(schema.json_schema(f"release/{config}"))


def _types(node: dict) -> tuple[str | None, bool]:
    """(main JSON type, nullable) of a schema node; enums infer their type from their values."""
    t = node.get("type")
    if t is None and "enum" in node:
        vals = node["enum"]
        kinds = {type(v) for v in vals if v is not None}
        t = ["string" if kinds <= {str} else "integer"] + (["null"] if None in vals else [])
    if t is None and "const" in node:
        t = "string" if isinstance(node["const"], str) else "integer"
    if isinstance(t, list):
        main = [x for x in t if x != "null"]
        if len(main) != 1:
            raise SchemaError(f"cannot map a union type {t} to Arrow")
        return main[0], "null" in t
    return t, False


def _arrow_type(node: dict) -> pa.DataType:
    t, _ = _types(node)
    if t == "string":
        return pa.timestamp("us", tz="UTC") if node.get("format") == "date-time" else pa.string()
    if t == "boolean":
        return pa.bool_()
    if t == "integer":
        return pa.int64()
    if t == "number":
        return pa.float64()
    if t == "array":
        return pa.list_(_arrow_type(node["items"]))
    if t == "object":
        return pa.struct(_fields(node))
    raise SchemaError(f"no Arrow type for JSON Schema node {node}")


def _fields(node: dict) -> list[pa.Field]:
    required = set(node.get("required", []))
    out = []
    for name, prop in node["properties"].items():
        _, nullable = _types(prop)
        out.append(pa.field(name, _arrow_type(prop), nullable=nullable or name not in required))
    return out


@functools.cache
def arrow_schema(config: str) -> pa.Schema:
    return pa.schema(_fields(row_schema(config)))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


@functools.cache
def _validator(config: str):
    """The row schema compiled to Python by fastjsonschema (references inlined; the keywords used are draft-07's):
    a per-row jsonschema check would cost more than the rest of a freeze."""
    doc = {k: v for k, v in row_schema(config).items() if k not in ("$schema", "$id")}
    return fastjsonschema.compile(doc)


def validate_rows(config: str, rows: list[dict]) -> None:
    """Check every row against its JSON Schema (enums, hashes, required fields); raise listing the first problems."""
    validate = _validator(config)
    problems = []
    for row in rows:
        try:
            validate(_jsonable(row))
        except fastjsonschema.JsonSchemaValueException as e:
            problems.append(f"{row.get('id')}: {e.message}")
            if len(problems) >= 10:
                break
    if problems:
        raise SchemaError(f"release/{config} rows: " + "; ".join(problems))


def to_table(config: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=arrow_schema(config))
