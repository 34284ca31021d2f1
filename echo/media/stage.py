"""The media stage: download the images of kept trees, validate, hash, store; OCR chat screenshots.

Incremental: a URL with a media row that is ok (file present) or failed for good is never fetched
again; a transient failure (timeout, connection, HTTP 5xx/429) is retried on later runs until it has
failed config.media.max_retries times. Screenshot checks and OCR are recorded (media.is_screenshot,
screenshot_ocr) and never redone unless the OCR rules' version changes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from echo.media import store as mstore
from echo.media.fetch import FetchError, Fetched, Fetcher
from echo.media.validate import Decoded, ValidationError, decode_image
from echo.progress import track

log = logging.getLogger("echo.media")

STAGE = "media"
FLUSH_EVERY = 50
SCREENSHOT_WORDS = ("screenshot", "screen shot", "screencap", "chatgpt window", "chat window")


# --- what to download ---------------------------------------------------------------------------


def relevance_stages(store) -> tuple[str, ...]:
    """Relevance stages whose pass keeps a tree: llm and prefilter; until either has run, the cheap filter."""
    decided = store.scalar("SELECT count(*) FROM relevance WHERE stage IN ('llm', 'prefilter')")
    return ("llm", "prefilter") if decided else ("llm", "prefilter", "cheap")


def kept_media_sql(stages: tuple[str, ...]) -> str:
    """SQL for (url, platform, post_id) of every image in a tree whose root passed one of `stages`,
    including posts quoted by the tree's posts."""
    stage_list = ", ".join(f"'{s}'" for s in stages)
    return f"""
        WITH kept_roots AS (
            SELECT DISTINCT r.platform, r.post_id AS root_id
            FROM relevance r JOIN posts p ON p.platform = r.platform AND p.post_id = r.post_id
            WHERE r.passed AND r.stage IN ({stage_list}) AND coalesce(p.root_id, p.post_id) = p.post_id
        ), tree AS (
            SELECT p.platform, p.post_id, p.quoted_id
            FROM posts p JOIN kept_roots k ON p.platform = k.platform AND coalesce(p.root_id, p.post_id) = k.root_id
        ), kept_posts AS (
            SELECT platform, post_id FROM tree
            UNION SELECT platform, quoted_id FROM tree WHERE quoted_id IS NOT NULL
        )
        SELECT pm.url, pm.platform, pm.post_id
        FROM post_media pm JOIN kept_posts k ON pm.platform = k.platform AND pm.post_id = k.post_id
    """


def kept_media_urls(store) -> list[str]:
    """Every image URL referenced by a kept tree, in a stable order."""
    rows = store.query(f"SELECT DISTINCT url FROM ({kept_media_sql(relevance_stages(store))}) ORDER BY url")
    return [r["url"] for r in rows]


def pending_urls(store, config) -> tuple[list[str], int]:
    """URLs to fetch now, and how many kept URLs are already stored (or failed for good)."""
    max_attempts = max(1, config.media.max_retries)
    media_dir = config.path("media_dir")
    rows = store.query(
        f"""SELECT k.url, m.status, m.path, m.retryable, coalesce(m.attempts, 0) AS attempts
            FROM (SELECT DISTINCT url FROM ({kept_media_sql(relevance_stages(store))})) k
            LEFT JOIN media m ON m.url = k.url ORDER BY k.url"""
    )
    todo, done = [], 0
    for r in rows:
        if r["status"] is None or r["status"] == "pending":
            todo.append(r["url"])
        elif r["status"] == "ok":
            if r["path"] and (media_dir / r["path"]).is_file():
                done += 1
            else:
                todo.append(r["url"])  # the file was lost: fetch it again
        elif r["retryable"] and r["attempts"] < max_attempts:
            todo.append(r["url"])
        else:
            done += 1
    return todo, done


def screenshot_hints(store, urls: list[str]) -> set[str]:
    """URLs whose alt text or post text says they are a screenshot."""
    if not urls:
        return set()
    like = " OR ".join(["lower(coalesce(pm.alt_text, '') || ' ' || coalesce(p.text, '')) LIKE ?"] * len(SCREENSHOT_WORDS))
    rows = store.query(
        f"""SELECT DISTINCT pm.url FROM post_media pm
            LEFT JOIN posts p ON p.platform = pm.platform AND p.post_id = pm.post_id
            WHERE pm.url IN (SELECT unnest(?)) AND ({like})""",
        [urls, *[f"%{w}%" for w in SCREENSHOT_WORDS]],
    )
    return {r["url"] for r in rows}


# --- processing ---------------------------------------------------------------------------------


@dataclass
class Stored:
    row: dict
    decoded: Decoded | None
    new_file: bool


def store_image(media_dir: Path, data: bytes, decoded: Decoded, thumb_size: int) -> dict:
    """Write the file and thumbnail (once per content) and return the media columns they fill."""
    sha, rel, new = mstore.put_bytes(media_dir, data, decoded.ext)
    thumb = mstore.make_thumbnail(media_dir, sha, decoded.image, thumb_size)
    return {
        "sha256": sha, "path": rel, "thumb_path": thumb, "format": decoded.format, "size_bytes": len(data),
        "width": decoded.width, "height": decoded.height, "phash": mstore.perceptual_hash(decoded.image),
        "_new_file": new,
    }


def failure_row(url: str, reason: str, detail: str, *, retryable: bool, attempts: int, max_attempts: int,
                run_id: str, content_type: str | None = None, size: int | None = None,
                final_url: str | None = None) -> dict:
    gave_up = retryable and attempts >= max_attempts
    error = f"{reason}: {detail}" if detail else reason
    if gave_up:
        error += f" (gave up after {attempts} attempts)"
    return {
        "url": url, "status": "failed", "error": error[:1000], "retryable": retryable and not gave_up,
        "attempts": attempts, "content_type": content_type, "size_bytes": size, "final_url": final_url,
        "sha256": None, "path": None, "thumb_path": None, "format": None, "width": None, "height": None,
        "phash": None, "fetched_at": dt.datetime.now(dt.UTC), "run_id": run_id,
    }


def process(url: str, result: Fetched | FetchError, *, config, run_id: str, prior_attempts: int) -> Stored:
    """A fetch result -> the media row (and the decoded image for the screenshot check)."""
    media = config.media
    max_attempts = max(1, media.max_retries)
    if isinstance(result, FetchError):
        row = failure_row(url, result.reason, result.detail, retryable=result.retryable,
                          attempts=prior_attempts + 1, max_attempts=max_attempts, run_id=run_id)
        return Stored(row, None, False)
    try:
        decoded = decode_image(result.data, max_pixels=media.max_pixels, content_type=result.content_type)
    except ValidationError as e:
        row = failure_row(url, e.reason, e.detail, retryable=False, attempts=prior_attempts + 1,
                          max_attempts=max_attempts, run_id=run_id, content_type=result.content_type,
                          size=len(result.data), final_url=result.final_url)
        return Stored(row, None, False)
    cols = store_image(config.path("media_dir"), result.data, decoded, media.thumb_size)
    new = cols.pop("_new_file")
    row = {
        "url": url, "status": "ok", "error": None, "retryable": None, "attempts": prior_attempts,
        "content_type": result.content_type, "final_url": result.final_url,
        "fetched_at": dt.datetime.now(dt.UTC), "run_id": run_id, **cols,
    }
    return Stored(row, decoded, new)


def _run_async(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """asyncio.run, also from a thread that already runs a loop (notebooks, Prefect)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def download(ctx, urls: list[str], *, fetcher_factory: Callable[[], Fetcher] | None = None) -> list[Stored]:
    """Fetch, validate and store `urls`; media rows are upserted as they complete (in batches)."""
    config, store, stats = ctx.config, ctx.store, ctx.stage_stats(STAGE)
    prior = {r["url"]: int(r["attempts"] or 0) for r in store.query(
        "SELECT url, attempts FROM media WHERE url IN (SELECT unnest(?))", [urls])} if urls else {}
    buffer: list[dict] = []
    lock = threading.Lock()
    done: list[Stored] = []
    new_shas: set[str] = set()

    def flush() -> None:
        with lock:
            rows, buffer[:] = list(buffer), []
        if rows:
            store.upsert("media", rows)

    def handle(url: str, result: Fetched | FetchError) -> None:
        try:
            stored = process(url, result, config=config, run_id=ctx.run_id, prior_attempts=prior.get(url, 0))
        except Exception as e:  # noqa: BLE001 - one bad image never stops the stage
            log.exception("media: processing %s failed", url)
            stored = Stored(failure_row(url, "internal_error", f"{type(e).__name__}: {e}", retryable=False,
                                        attempts=prior.get(url, 0) + 1, max_attempts=1, run_id=ctx.run_id),
                            None, False)
        row = stored.row
        with lock:
            if isinstance(result, Fetched):
                stats["local" if result.local else "downloaded"] += 1
                stats["bytes"] += len(result.data)
            if row["status"] == "ok":
                stats["stored"] += 1
                # two threads can both find a file absent and write the same bytes: count by sha256
                if stored.new_file and row["sha256"] not in new_shas:
                    new_shas.add(row["sha256"])
                else:
                    stats["deduplicated"] += 1
            else:
                stats[f"failed_{row['error'].split(':', 1)[0].split(' ', 1)[0]}"] += 1
                stats["failed"] += 1
            buffer.append(row)
            done.append(stored)
            full = len(buffer) >= FLUSH_EVERY
        if full:
            flush()

    async def main() -> None:
        fetcher = fetcher_factory() if fetcher_factory else Fetcher.from_config(config.media, config.base_dir)
        try:
            async def one(url: str) -> None:
                try:
                    result: Fetched | FetchError = await fetcher.fetch(url)
                except FetchError as e:
                    result = e
                await asyncio.to_thread(handle, url, result)

            tasks = [asyncio.ensure_future(one(u)) for u in urls]
            for fut in track(asyncio.as_completed(tasks), "media: download", enabled=ctx.progress, total=len(tasks)):
                await fut
        finally:
            await fetcher.aclose()
            ctx.cache["media_requests"] = ctx.cache.get("media_requests", 0) + fetcher.requests

    if urls:
        _run_async(main)
    flush()
    return done


# --- screenshots --------------------------------------------------------------------------------


def crop_url(parent_sha: str, box: list[int]) -> str:
    return f"crop:{parent_sha}:{','.join(str(int(v)) for v in box)}"


def _open_stored(config, rel_path: str) -> Image.Image:
    data = (config.path("media_dir") / rel_path).read_bytes()
    return decode_image(data, max_pixels=config.media.max_pixels).image


def screenshot_pass(ctx, hints: set[str]) -> None:
    """Check unchecked ok images for a chat layout; OCR those that may be one; cut out their images."""
    from echo.media import ocr

    config, store, stats = ctx.config, ctx.store, ctx.stage_stats(STAGE)
    rows = store.query(
        """SELECT m.url, m.sha256, m.path, m.format, m.is_screenshot, o.version AS ocr_version
           FROM media m LEFT JOIN screenshot_ocr o ON o.url = m.url
           WHERE m.status = 'ok' AND m.parent_url IS NULL
             AND (m.is_screenshot IS NULL OR (m.is_screenshot AND (o.url IS NULL OR o.version <> ?)))
           ORDER BY m.url""",
        [ocr.OCR_VERSION],
    )
    not_screenshots: list[dict] = []
    for r in track(rows, "media: screenshots", enabled=ctx.progress):
        if len(not_screenshots) >= FLUSH_EVERY:
            store.upsert("media", not_screenshots, update=["is_screenshot"])
            not_screenshots = []
        try:
            image = _open_stored(config, r["path"])
        except (OSError, ValidationError) as e:
            log.warning("media: cannot reopen %s: %s", r["url"], e)
            continue
        stats["screenshot_checked"] += 1
        if not (ocr.could_be_screenshot(image) or (r["url"] in hints and min(image.size) >= 150)):
            not_screenshots.append({"url": r["url"], "is_screenshot": False})
            continue
        try:
            result = ocr.transcribe(ocr.analyze(image, lossy=r["format"] in ocr.LOSSY_FORMATS))
        except Exception as e:  # noqa: BLE001 - OCR trouble leaves the image unflagged, never stops the stage
            log.warning("media: OCR of %s failed: %s", r["url"], e)
            stats["ocr_failed"] += 1
            continue
        stats["ocr"] += 1
        boxes = result["boxes"] if result["is_chat"] else []
        if result["is_chat"]:
            stats["screenshots"] += 1
            boxes = store_crops(ctx, r["url"], r["sha256"], image, boxes)
        store.upsert("screenshot_ocr", [{
            "url": r["url"], "sha256": r["sha256"], "is_chat": result["is_chat"],
            "prompt": result["prompt"] if result["is_chat"] else None, "boxes": boxes, "lines": result["lines"],
            "engine": result["engine"], "version": result["version"], "run_id": ctx.run_id,
            "created_at": dt.datetime.now(dt.UTC),
        }])
        store.upsert("media", [{"url": r["url"], "is_screenshot": bool(result["is_chat"])}], update=["is_screenshot"])
    store.upsert("media", not_screenshots, update=["is_screenshot"])


def store_crops(ctx, parent_url: str, parent_sha: str, image: Image.Image, boxes: list[dict]) -> list[dict]:
    """Store each image region of a screenshot as media of its own; returns the boxes with their crop URLs."""
    config, stats = ctx.config, ctx.stage_stats(STAGE)
    rows, out = [], []
    for b in boxes:
        l, t, r, btm = (int(v) for v in b["box"])
        l, t, r, btm = max(0, l), max(0, t), min(image.width, r), min(image.height, btm)
        if r - l < 8 or btm - t < 8:
            continue
        crop = image.crop((l, t, r, btm))
        if crop.mode not in ("RGB", "RGBA", "L"):
            crop = crop.convert("RGB")
        buf = io.BytesIO()
        crop.save(buf, format="PNG", optimize=True)
        data = buf.getvalue()
        decoded = Decoded(image=crop, format="PNG", width=crop.width, height=crop.height)
        cols = store_image(config.path("media_dir"), data, decoded, config.media.thumb_size)
        cols.pop("_new_file")
        url = crop_url(parent_sha, [l, t, r, btm])
        rows.append({"url": url, "status": "ok", "error": None, "content_type": "image/png", "parent_url": parent_url,
                     "crop_box": [l, t, r, btm], "is_screenshot": False, "fetched_at": dt.datetime.now(dt.UTC),
                     "run_id": ctx.run_id, "attempts": 0, **cols})
        out.append({**b, "box": [l, t, r, btm], "url": url})
    if rows:
        ctx.store.upsert("media", rows)
        stats["crops"] += len(rows)
    return out


# --- the stage ----------------------------------------------------------------------------------


def run(ctx) -> None:
    """Pipeline stage "media"."""
    stats = ctx.stage_stats(STAGE)
    urls, already = pending_urls(ctx.store, ctx.config)
    stats["cached"] += already
    stats["pending"] += len(urls)
    download(ctx, urls)
    if ctx.config.media.ocr:
        unchecked = [r["url"] for r in ctx.store.query(
            "SELECT url FROM media WHERE status = 'ok' AND parent_url IS NULL AND is_screenshot IS NULL")]
        screenshot_pass(ctx, screenshot_hints(ctx.store, unchecked))
