"""`echo-bench import`: raw API responses saved by others, read through the live connectors' own parsers.

A file is JSON (one response body, or a list of them), JSONL (one body a line, as twarc2 writes) or a
recorded HTTP cassette (vcrpy / R vcr YAML, Betamax JSON, or the same with decoded `response_body`):
then every 2xx response body in it is read. The platform comes from --platform or from the folder
name (data/samples/<platform>/...). Each platform module's `parse_payload(obj, ctx)` recognises its
response kinds by shape. Posts, images and unreadable items (crawl_errors) are upserted: importing
the same file twice changes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gzip
import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from echo import schema
from echo.config import DEFAULT_MAX_FILE_BYTES
from echo.records import PLATFORMS, stable_id
from echo.sources.base import Parsed, ParseContext, isolated
from echo.sources.save import save_parsed
from echo.store import Store, sha256_file

SUFFIXES = (".json", ".jsonl", ".ndjson", ".yml", ".yaml")
MAX_RAW_CHARS = 1_000_000  # an unreadable file is kept raw up to this size in crawl_errors
# Bounds on what one document may cost to read. API responses nest a few dozen levels (HN and Reddit comment
# trees the most); Python's json and yaml recurse per level and stop near 1000 with a RecursionError.
MAX_DEPTH = 400
MAX_YAML_ALIASES = 10_000
MAX_YAML_NODES = 5_000_000  # nodes of a YAML document with every alias expanded (1 KB of aliases can mean 10^9)


class Refused(Exception):
    """A document that is not read at all because it exceeds a bound (depth, aliases, size)."""


class ImportError_(ValueError):
    """A path or platform that cannot be imported (clear message for the CLI)."""


def parser_for(platform: str) -> Callable[[Any, ParseContext], Parsed]:
    if platform not in PLATFORMS:
        raise ImportError_(f"unknown platform {platform!r}; one of: {', '.join(PLATFORMS)}")
    module = importlib.import_module(f"echo.sources.{platform}")
    try:
        return module.parse_payload
    except AttributeError:
        raise ImportError_(f"echo.sources.{platform} has no parse_payload(obj, ctx)") from None


@dataclass
class Body:
    """One response body found in a file: `label` says where (line 3, interaction 2 ...)."""

    label: str
    obj: Any = None
    error: str | None = None
    raw: str | None = None


def _decode_cassette_body(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("string"), str) and body["string"]:
        return body["string"]
    b64 = body.get("base64_string")
    if isinstance(b64, str) and b64:
        data = base64.b64decode(b64)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode(body.get("encoding") or "utf-8", errors="replace")
    return None


def _status(response: dict) -> int | None:
    status = response.get("status")
    if isinstance(status, dict):
        status = status.get("code")
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def cassette_bodies(doc: Any) -> list[Body] | None:
    """Bodies of 2xx responses in a recorded cassette, or None when `doc` is not a cassette."""
    if not isinstance(doc, dict):
        return None
    interactions = doc.get("http_interactions", doc.get("interactions"))
    if not isinstance(interactions, list) or not all(isinstance(i, dict) for i in interactions):
        return None
    out = []
    for n, it in enumerate(interactions, 1):
        request = it.get("request") or {}
        uri = request.get("uri") or it.get("uri") or ""
        label = f"interaction {n} {request.get('method') or it.get('method') or ''} {uri}".strip()
        if "response_body" in it:  # already decoded
            status = it.get("status")
            if isinstance(status, int) and not 200 <= status < 300:
                continue
            out.append(Body(label, obj=it["response_body"]))
            continue
        response = it.get("response") or {}
        status = _status(response)
        if status is not None and not 200 <= status < 300:
            continue
        text = _decode_cassette_body(response.get("body"))
        if not text:
            continue
        try:
            out.append(Body(label, obj=load_json(text)))
        except Refused as e:
            out.append(Body(label, error=f"response body refused: {e}", raw=text[:MAX_RAW_CHARS]))
        except ValueError as e:
            out.append(Body(label, error=f"response body is not JSON: {e}", raw=text[:MAX_RAW_CHARS]))
    return out


def _too_deep(doc: Any) -> bool:
    """Whether lists and objects nest deeper than MAX_DEPTH: level by level, containers only (no recursion,
    and about half the time json.loads took)."""
    level = [doc] if type(doc) in (dict, list) else []
    for _ in range(MAX_DEPTH):
        if not level:
            return False
        level = [v for obj in level for v in (obj.values() if type(obj) is dict else obj) if type(v) in (dict, list)]
    return bool(level)


def load_json(text: str) -> Any:
    """json.loads within MAX_DEPTH (raises Refused; ValueError for text that is not JSON)."""
    try:
        doc = json.loads(text)
    except RecursionError:
        raise Refused(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if _too_deep(doc):
        raise Refused(f"JSON nested deeper than {MAX_DEPTH} levels")
    return doc


def _check_yaml_graph(root: Any) -> None:
    """Refuse a composed YAML node graph whose aliases are too many, expand too far, or form a cycle."""
    import yaml

    done: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes when expanded, depth)
    seen: set[int] = set()
    aliases = 0
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        if not children_done:
            if id(node) in seen:
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise Refused(f"YAML has more than {MAX_YAML_ALIASES} aliases")
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children)
            continue
        if any(id(c) not in done for c in children):  # a child still open above us: an alias to an ancestor
            raise Refused("YAML refers to itself (a recursive alias)")
        size = 1 + sum(done[id(c)][0] for c in children)
        depth = 1 + max((done[id(c)][1] for c in children), default=0)
        if size > MAX_YAML_NODES:
            raise Refused(f"YAML aliases expand to more than {MAX_YAML_NODES} nodes")
        if depth > MAX_DEPTH:
            raise Refused(f"YAML nested deeper than {MAX_DEPTH} levels")
        done[id(node)] = (size, depth)


def load_yaml(text: str) -> Any:
    """Safe YAML (plain data only) whose alias expansion and depth are checked before anything is built."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_graph(node)
        return loader.construct_document(node)
    except RecursionError:
        raise Refused(f"YAML nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def read_bodies(path: Path) -> list[Body]:
    """Every response body a file holds; a body that cannot be read carries its error (and raw text)."""
    import yaml

    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        bodies = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                bodies.append(Body(f"line {n}", obj=load_json(line)))
            except Refused as e:
                bodies.append(Body(f"line {n}", error=str(e), raw=line[:MAX_RAW_CHARS]))
            except ValueError as e:
                bodies.append(Body(f"line {n}", error=f"not JSON: {e}", raw=line[:MAX_RAW_CHARS]))
        return bodies
    try:
        if suffix in (".yml", ".yaml"):
            doc = load_yaml(text)
        else:
            doc = load_json(text)
    except Refused as e:
        return [Body("file", error=str(e), raw=text[:MAX_RAW_CHARS])]
    except yaml.YAMLError as e:
        return [Body("file", error=f"not valid YAML: {e}", raw=text[:MAX_RAW_CHARS])]
    except ValueError as e:
        return [Body("file", error=f"not valid JSON: {e}", raw=text[:MAX_RAW_CHARS])]
    bodies = cassette_bodies(doc)
    return bodies if bodies is not None else [Body("file", obj=doc)]


# --- parsing, one body and one item at a time ----------------------------------------------------------


def _value_problem(sql_type: str, value: Any) -> str | None:
    """Why DuckDB would refuse `value` for a column of this type (None when it fits)."""
    if sql_type == "VARCHAR":
        return None if isinstance(value, str) else "is not a string"
    if sql_type in ("BIGINT", "INTEGER"):
        if not isinstance(value, int) or isinstance(value, bool):
            return "is not an integer"
        bits = 64 if sql_type == "BIGINT" else 32
        return None if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1) else f"is out of range for {sql_type}"
    if sql_type in ("DOUBLE", "FLOAT"):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "is not a number"
    if sql_type == "BOOLEAN":
        return None if isinstance(value, bool) else "is not true or false"
    if sql_type.startswith("TIMESTAMP"):
        return None if isinstance(value, dt.datetime) else "is not a time"
    return None  # JSON and others: anything the parser produced is stored as is


def record_problem(record: Any) -> str | None:
    """Why a parsed record does not fit its table (a wrong-typed field from a malformed item), or None."""
    for column in schema.table(record.TABLE).columns:
        value = getattr(record, column.name)
        if value is None:
            if not column.nullable and not column.has_default:
                return f"{column.name} is missing"
            continue
        why = _value_problem(column.type, value)
        if why:
            return f"{column.name} {str(value)[:80]!r} {why}"
    return None


def _checked(parsed: Parsed, ctx: ParseContext, where: str) -> Parsed:
    """Drop items whose fields do not fit the tables (as crawl_errors naming them); name the file in every error."""
    bad: dict[tuple[str, str], str] = {}
    for post in parsed.posts:
        why = record_problem(post)
        if why:
            bad[(post.platform, post.post_id)] = why
            parsed.errors.append(ctx.error("bad_item", f"item {post.post_id}: {why}", post.raw))
    posts = [p for p in parsed.posts if (p.platform, p.post_id) not in bad]
    media = []
    for m in parsed.post_media:
        why = None if (m.platform, m.post_id) in bad else record_problem(m)
        if why:
            parsed.errors.append(ctx.error("bad_item", f"item {m.post_id} image: {why}", dataclasses.asdict(m)))
        elif (m.platform, m.post_id) not in bad:
            media.append(m)
    return dataclasses.replace(parsed, posts=posts, post_media=media, errors=[_named(e, where) for e in parsed.errors])


def _named(error: Any, where: str) -> Any:
    """The error with the file (and body) it came from in its message and its id: each file's bad content is
    its own crawl_errors row, and importing the same file again gives the same rows."""
    return dataclasses.replace(error, message=f"{where}: {error.message}"[:2000],
                               error_id=stable_id(error.error_id, where))


def _parse(path: Path, platform: str, ctx: ParseContext, max_bytes: int) -> tuple[Parsed, str | None]:
    """The file's parsed content, and why the file as a whole could not be read (None when some of it was)."""
    parse = parser_for(platform)
    out = Parsed()
    size = path.stat().st_size
    if size > max_bytes:
        why = f"{size} bytes, over the {max_bytes}-byte cap (max_file_bytes)"
        out.errors.append(_named(ctx.error("too_large", why, {"path": str(path), "bytes": size}), f"{path} file"))
        return out, why
    bodies = read_bodies(path)
    for body in bodies:
        where = f"{path} {body.label}"
        if body.error is not None:
            out.errors.append(_named(ctx.error("malformed_page", body.error, body.raw), where))
            continue
        part = isolated(ctx, f"{platform} page", body.obj, lambda: parse(body.obj, ctx))
        out.extend(_checked(part, ctx, where))
    unread = [b.error for b in bodies if b.error is not None]
    return out, (unread[0] if bodies and len(unread) == len(bodies) else None)


def parse_file(path: str | os.PathLike, platform: str, ctx: ParseContext, *,
               max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Parsed:
    """Every post, image and bad item of one file; nothing in it can stop the caller."""
    return _parse(Path(path), platform, ctx, max_bytes)[0]


# --- finding files ---------------------------------------------------------------------------


def _files_under(folder: Path) -> Iterator[Path]:
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in SUFFIXES and not any(part.startswith(".") for part in p.parts):
            yield p


def _platform_in(parts: tuple[str, ...]) -> str | None:
    """The innermost folder named after a platform (data/samples/bluesky/..., realdata/x/twarc/...)."""
    return next((part for part in reversed(parts) if part in PLATFORMS), None)


def discover(paths: Iterable[str | os.PathLike], platform: str | None = None) -> list[tuple[Path, str]]:
    """(file, platform) pairs. Without `platform`, a folder's platform is its own name or its subfolders' names."""
    found: list[tuple[Path, str]] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ImportError_(f"{p} does not exist")
        if p.is_file():
            plat = platform or _platform_in(p.parent.parts)
            if plat is None:
                raise ImportError_(f"{p}: cannot tell the platform; pass --platform ({', '.join(PLATFORMS)}) "
                                   "or put it in a folder named after it")
            found.append((p, plat))
        elif platform or _platform_in(p.parts):
            found.extend((f, platform or _platform_in(p.parts)) for f in _files_under(p))
        else:
            # a corpus folder: one subfolder per platform; anything else (media/, answers.json) is not API data
            subs = [d for d in sorted(p.iterdir()) if d.is_dir() and d.name in PLATFORMS]
            if not subs:
                raise ImportError_(f"{p}: no platform subfolders ({', '.join(PLATFORMS)}) and no --platform given")
            for d in subs:
                found.extend((f, d.name) for f in _files_under(d))
    return found


# --- storing -----------------------------------------------------------------------------------


@dataclass
class FileResult:
    path: Path
    platform: str
    posts: int = 0
    posts_new: int = 0
    media: int = 0
    replies: int = 0
    quotes: int = 0
    errors: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    taken_down: int = 0  # posts not stored because they were forgotten (echo-bench forget)
    unchanged: bool = False
    failed: str | None = None

    def line(self) -> str:
        if self.failed:
            return f"{self.path} [{self.platform}]: failed: {self.failed}"
        if self.unchanged:
            return f"{self.path}: unchanged since last import"
        extra = "".join(f", {k}={v}" for k, v in sorted(self.skipped.items()))
        if self.taken_down:
            extra += f", {self.taken_down} not stored (taken down)"
        return (f"{self.path} [{self.platform}]: {self.posts} posts ({self.posts_new} new), {self.media} images, "
                f"{self.replies} reply links, {self.quotes} quote links, {self.errors} errors{extra}")




def summary(results: list[FileResult]) -> str:
    """One line for a whole import: totals, then the files that failed and the files with bad items, by name."""
    failed = [r for r in results if r.failed]
    with_errors = [r for r in results if r.errors and not r.failed]
    line = f"total: {len(results)} files, "
    if failed:
        line += f"{len(failed)} failed: {', '.join(str(r.path) for r in failed)}; "
    line += (f"{sum(r.posts for r in results)} posts ({sum(r.posts_new for r in results)} new), "
             f"{sum(r.media for r in results)} images, {sum(r.errors for r in results)} errors")
    if with_errors:
        line += f"; errors in: {', '.join(f'{r.path} ({r.errors})' for r in with_errors)}"
    return line


def import_files(store: Store, files: Iterable[tuple[Path, str]], *, source: str = "import", run_id: str | None = None,
                 skip_unchanged: bool = False, taken_down: Callable[..., bool] | None = None,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> list[FileResult]:
    """Parse and store each file, one at a time; with skip_unchanged, files whose sha256 matches the last import
    are not read. A file that cannot be read at all (too big, not JSON, too deep, an alias bomb) is a result with
    `failed` set and a crawl_errors row; a bad item is a crawl_errors row; neither stops the files after it."""
    results = []
    for path, platform in files:
        ctx = ParseContext(source=source, query=f"import:{platform}/{path.name}", run_id=run_id)

        def unreadable(e: OSError) -> FileResult:  # vanished or unreadable since it was listed
            why = f"cannot read: {e.strerror or e}"
            store.upsert("crawl_errors", [_named(ctx.error("malformed_page", why, {"path": str(path)}), f"{path} file")],
                         ignore_existing=True)
            return FileResult(path, platform, errors=1, failed=why)

        try:
            too_big = path.stat().st_size > max_file_bytes
            digest = None if too_big else sha256_file(path)
        except OSError as e:
            results.append(unreadable(e))
            continue
        key = str(path)
        if digest and skip_unchanged and store.scalar(
                "SELECT sha256 FROM imported_files WHERE source = ? AND path = ?", [source, key]) == digest:
            results.append(FileResult(path, platform, unchanged=True))
            continue
        try:
            parsed, failed = _parse(path, platform, ctx, max_file_bytes)
        except OSError as e:
            results.append(unreadable(e))
            continue
        saved = save_parsed(store, parsed, run_id=run_id, taken_down=taken_down)
        unique = {p.post_id: p for p in parsed.posts}
        res = FileResult(path, platform, posts=len(unique), posts_new=saved["posts_new"],
                         media=len({(m.post_id, m.url) for m in parsed.post_media}),
                         replies=sum(1 for p in unique.values() if p.parent_id),
                         quotes=sum(1 for p in unique.values() if p.quoted_id),
                         errors=len({e.error_id for e in parsed.errors}), skipped=dict(parsed.skipped),
                         taken_down=saved["skipped_takedown"], failed=failed)
        if digest:  # an over-size file is not hashed: it is checked (by its size) again next time
            store.upsert("imported_files", [{"source": source, "path": key, "platform": platform, "sha256": digest,
                                             "posts": res.posts, "media": res.media, "errors": res.errors,
                                             "imported_at": dt.datetime.now(dt.UTC), "run_id": run_id}])
        results.append(res)
    return results
