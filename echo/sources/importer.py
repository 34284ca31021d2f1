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
import datetime as dt
import gzip
import hashlib
import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from echo.records import PLATFORMS
from echo.sources.base import Parsed, ParseContext
from echo.sources.save import save_parsed
from echo.store import Store

SUFFIXES = (".json", ".jsonl", ".ndjson", ".yml", ".yaml")
MAX_RAW_CHARS = 1_000_000  # an unreadable file is kept raw up to this size in crawl_errors


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
            out.append(Body(label, obj=json.loads(text)))
        except ValueError as e:
            out.append(Body(label, error=f"response body is not JSON: {e}", raw=text))
    return out


def read_bodies(path: Path) -> list[Body]:
    """Every response body a file holds."""
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        bodies = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                bodies.append(Body(f"line {n}", obj=json.loads(line)))
            except ValueError as e:
                bodies.append(Body(f"line {n}", error=f"line {n} is not JSON: {e}", raw=line))
        return bodies
    if suffix in (".yml", ".yaml"):
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            return [Body("file", error=f"not valid YAML: {e}", raw=text[:MAX_RAW_CHARS])]
        bodies = cassette_bodies(doc)
        return bodies if bodies is not None else [Body("file", obj=doc)]
    try:
        doc = json.loads(text)
    except ValueError as e:
        return [Body("file", error=f"not valid JSON: {e}", raw=text[:MAX_RAW_CHARS])]
    bodies = cassette_bodies(doc)
    return bodies if bodies is not None else [Body("file", obj=doc)]


def parse_file(path: str | os.PathLike, platform: str, ctx: ParseContext) -> Parsed:
    parse = parser_for(platform)
    out = Parsed()
    for body in read_bodies(Path(path)):
        if body.error is not None:
            out.errors.append(ctx.error("malformed_page", f"{Path(path).name} {body.label}: {body.error}", body.raw))
            continue
        out.extend(parse(body.obj, ctx))
    return out


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
            return f"{self.path}: {self.failed}"
        if self.unchanged:
            return f"{self.path}: unchanged since last import"
        extra = "".join(f", {k}={v}" for k, v in sorted(self.skipped.items()))
        if self.taken_down:
            extra += f", {self.taken_down} not stored (taken down)"
        return (f"{self.path} [{self.platform}]: {self.posts} posts ({self.posts_new} new), {self.media} images, "
                f"{self.replies} reply links, {self.quotes} quote links, {self.errors} errors{extra}")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_files(store: Store, files: Iterable[tuple[Path, str]], *, source: str = "import", run_id: str | None = None,
                 skip_unchanged: bool = False, taken_down: Callable[..., bool] | None = None) -> list[FileResult]:
    """Parse and store each file; with skip_unchanged, files whose sha256 matches the last import are not read."""
    results = []
    for path, platform in files:
        try:
            digest = sha256_file(path)
        except OSError as e:  # vanished or unreadable since it was listed: report it, go on with the rest
            results.append(FileResult(path, platform, failed=f"cannot read: {e.strerror or e}"))
            continue
        key = str(path)
        if skip_unchanged and store.scalar("SELECT sha256 FROM imported_files WHERE source = ? AND path = ?",
                                           [source, key]) == digest:
            results.append(FileResult(path, platform, unchanged=True))
            continue
        ctx = ParseContext(source=source, query=f"import:{platform}/{path.name}", run_id=run_id)
        parsed = parse_file(path, platform, ctx)
        saved = save_parsed(store, parsed, run_id=run_id, taken_down=taken_down)
        unique = {p.post_id: p for p in parsed.posts}
        res = FileResult(path, platform, posts=len(unique), posts_new=saved["posts_new"],
                         media=len({(m.post_id, m.url) for m in parsed.post_media}),
                         replies=sum(1 for p in unique.values() if p.parent_id),
                         quotes=sum(1 for p in unique.values() if p.quoted_id),
                         errors=len({e.error_id for e in parsed.errors}), skipped=dict(parsed.skipped),
                         taken_down=saved["skipped_takedown"])
        store.upsert("imported_files", [{"source": source, "path": key, "platform": platform, "sha256": digest,
                                         "posts": res.posts, "media": res.media, "errors": res.errors,
                                         "imported_at": dt.datetime.now(dt.UTC), "run_id": run_id}])
        results.append(res)
    return results
