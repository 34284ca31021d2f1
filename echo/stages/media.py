"""Download the images of kept trees, validate, hash and store them; find and transcribe chat screenshots.

Reads: relevance (trees kept by the relevance judge or the prefilter), posts, post_media, media. Writes: media, screenshot_ocr, files under
media_dir. Done: a URL whose media row is ok (file present) or failed for good.

A URL with a media row that is ok (file present) or failed for good is never fetched
again; a transient failure (timeout, connection, HTTP 5xx/429) is retried on later runs until it has
failed config.media.max_retries times. Screenshot checks and OCR are recorded (media.is_screenshot,
screenshot_ocr) and never redone unless the OCR rules' version changes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import functools
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from echo.media import ocr
from echo.media.fetch import FetchError, Fetched, Fetcher
from echo.media.ingest import Stored, crop_rows, failure_row, may_be_screenshot, open_stored, process
from echo.media.validate import ValidationError
from echo.progress import track
from echo.run import RunContext, StageStats

log = logging.getLogger("echo.media")

FLUSH_EVERY = 50
# URLs per Dask partition: each sets up its own fetcher (HTTP client, TLS context), ~0.2 s, so not 50
DOWNLOAD_PARTITION = 400
SCREENSHOT_WORDS = ("screenshot", "screen shot", "screencap", "chatgpt window", "chat window")


# --- what to download ---------------------------------------------------------------------------


# Judges whose pass keeps a tree's images. The cheap filter is not one: it only lets a post reach a judge, and
# a post never judged relevant must cost no download (a URL in a post is not a reason to fetch it).
KEEPING_JUDGES = ("llm", "prefilter")


def kept_media_sql(judges: tuple[str, ...]) -> str:
    """SQL for (url, platform, post_id) of every image in a tree whose root passed one of `judges`,
    including posts quoted by the tree's posts."""
    judge_list = ", ".join(f"'{s}'" for s in judges)
    return f"""
        WITH kept_roots AS (
            SELECT DISTINCT r.platform, r.post_id AS root_id
            FROM relevance r JOIN posts p ON p.platform = r.platform AND p.post_id = r.post_id
            WHERE r.passed AND r.judge IN ({judge_list}) AND coalesce(p.root_id, p.post_id) = p.post_id
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
    rows = store.query(f"SELECT DISTINCT url FROM ({kept_media_sql(KEEPING_JUDGES)}) ORDER BY url")
    return [r["url"] for r in rows]


def pending_urls(store, config) -> tuple[list[str], int]:
    """URLs to fetch now, and how many kept URLs are already stored (or failed for good)."""
    max_attempts = max(1, config.media.max_retries)
    media_dir = config.path("media_dir")
    rows = store.query(
        f"""SELECT k.url, m.status, m.path, m.retryable, coalesce(m.attempts, 0) AS attempts
            FROM (SELECT DISTINCT url FROM ({kept_media_sql(KEEPING_JUDGES)})) k
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


def _run_async(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """asyncio.run, also from a thread that already runs a loop (notebooks, Prefect)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


@dataclass(frozen=True)
class Outcome:
    """What fetching and storing one URL gave: its media row, and how the bytes came (None: the fetch failed)."""

    url: str
    stored: Stored
    local: bool | None = None
    nbytes: int = 0


def fetch_and_store(config, run_id: str, items: Sequence[tuple[str, int, bool]], *,
                    fetcher_factory: Callable[[], Fetcher] | None = None,
                    on_outcome: Callable[[Outcome], None] | None = None, progress: bool = False) -> list[Outcome]:
    """Fetch, validate and store the files of `items` = (url, prior attempts, screenshot hint); no database. Each
    outcome goes to `on_outcome` as it completes, else they are returned in the order of `items`."""
    outcomes: dict[str, Outcome] = {}

    def handle(url: str, prior: int, hint: bool, result: Fetched | FetchError) -> None:
        try:
            stored = process(url, result, config=config, run_id=run_id, prior_attempts=prior, screenshot_hint=hint)
        except Exception as e:  # noqa: BLE001 - one bad image never stops the stage
            log.exception("media: processing %s failed", url)
            stored = Stored(failure_row(url, "internal_error", f"{type(e).__name__}: {e}", retryable=False,
                                        attempts=prior + 1, max_attempts=1, run_id=run_id), False)
        fetched = isinstance(result, Fetched)
        outcome = Outcome(url, stored, result.local if fetched else None, len(result.data) if fetched else 0)
        if on_outcome:
            on_outcome(outcome)
        else:
            outcomes[url] = outcome

    async def main() -> None:
        fetcher = fetcher_factory() if fetcher_factory else Fetcher.from_config(config.media, config.base_dir)
        # A fixed set of workers pulls the items: no task per URL (a million URLs), and at most `lanes` fetched
        # files wait in memory for a decoder (local files are read far faster than images decode).
        decoders = max(1, min(config.media.concurrency, os.cpu_count() or 1))
        lanes = max(1, config.media.concurrency) + decoders
        pending = iter(track(items, "media: download", enabled=progress))
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(decoders, thread_name_prefix="echo-media") as pool:
            async def lane() -> None:
                for url, prior, hint in pending:  # one shared iterator: the event loop hands items out one by one
                    try:
                        result: Fetched | FetchError = await fetcher.fetch(url)
                    except FetchError as e:
                        result = e
                    await loop.run_in_executor(pool, handle, url, prior, hint, result)
                    del result

            workers = [asyncio.ensure_future(lane()) for _ in range(min(lanes, len(items)))]
            try:
                await asyncio.gather(*workers)
            finally:
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                await fetcher.aclose()

    if items:
        _run_async(main)
    return [outcomes[url] for url, _, _ in items if url in outcomes]


def fetch_partition(config, run_id: str, items: Sequence[tuple[str, int, bool]]) -> list[Outcome]:
    """A Dask worker's share of the downloads (its fetcher is bounded by media.concurrency / workers, set by the
    stage in `config`)."""
    return fetch_and_store(config, run_id, items)


def download(ctx: RunContext, stats: StageStats, urls: list[str], *,
             fetcher_factory: Callable[[], Fetcher] | None = None) -> None:
    """Fetch, validate and store `urls`; media rows are upserted as they complete (in batches). With a Dask runner,
    partitions of the URLs are fetched and stored on its workers and their rows are upserted here."""
    config, store = ctx.config, ctx.store
    prior = {r["url"]: int(r["attempts"] or 0) for r in store.query(
        "SELECT url, attempts FROM media WHERE url IN (SELECT unnest(?))", [urls])} if urls else {}
    hints = screenshot_hints(store, urls)
    items = [(url, prior.get(url, 0), url in hints) for url in urls]
    buffer: list[dict] = []
    lock = threading.Lock()
    new_shas: set[str] = set()

    def flush() -> None:
        with lock:
            rows, buffer[:] = list(buffer), []
        if rows:
            store.upsert("media", rows)

    def count(outcome: Outcome) -> None:
        row = outcome.stored.row
        with lock:
            if outcome.local is not None:
                stats["local" if outcome.local else "downloaded"] += 1
                stats["bytes"] += outcome.nbytes
            if row["status"] == "ok":
                stats["stored"] += 1
                # two threads can both find a file absent and write the same bytes: count by sha256
                if outcome.stored.new_file and row["sha256"] not in new_shas:
                    new_shas.add(row["sha256"])
                else:
                    stats["deduplicated"] += 1
            else:
                stats[f"failed_{row['error'].split(':', 1)[0].split(' ', 1)[0]}"] += 1
                stats["failed"] += 1
            buffer.append(row)
            full = len(buffer) >= FLUSH_EVERY
        if full:
            flush()

    runner = ctx.resources.runner if items and fetcher_factory is None else None
    if runner is None or runner.in_process:
        fetch_and_store(config, ctx.run_id, items, fetcher_factory=fetcher_factory, on_outcome=count,
                        progress=ctx.progress)
    else:
        share = dataclasses.replace(config.media, concurrency=max(1, config.media.concurrency // runner.workers))
        fetch = functools.partial(fetch_partition, dataclasses.replace(config, media=share), ctx.run_id)
        parts = runner.partitions(items, DOWNLOAD_PARTITION)
        for outcomes in track(runner.map_partitions(fetch, parts, label="media"), "media: download",
                              enabled=ctx.progress, total=len(parts)):
            for outcome in outcomes:
                count(outcome)
    flush()


# --- screenshots --------------------------------------------------------------------------------


def check_screenshot(config, run_id: str, r: dict, hint: bool) -> dict:
    """One stored image (a row of media): is it a chat screenshot, and if so its transcription and the crops of its
    images (files written under media_dir). No database: the caller writes `outcome`'s rows.
    `outcome` is "unreadable", "not_screenshot", "ocr_failed" or "ocr"."""
    try:
        image = open_stored(config, r["path"])
    except (OSError, ValidationError) as e:
        log.warning("media: cannot reopen %s: %s", r["url"], e)
        return {"url": r["url"], "outcome": "unreadable"}
    if not may_be_screenshot(image, hint):  # images stored before the check moved to ingest
        return {"url": r["url"], "outcome": "not_screenshot"}
    try:
        result = ocr.transcribe(ocr.analyze(image, lossy=r["format"] in ocr.LOSSY_FORMATS))
    except Exception as e:  # noqa: BLE001 - OCR trouble leaves the image unflagged, never stops the stage
        log.warning("media: OCR of %s failed: %s", r["url"], e)
        return {"url": r["url"], "outcome": "ocr_failed"}
    boxes, crops = (result["boxes"] if result["is_chat"] else []), []
    if result["is_chat"]:
        crops, boxes = crop_rows(config.path("media_dir"), config.media.thumb_size, r["url"], r["sha256"], image,
                                 boxes, run_id)
    return {"url": r["url"], "outcome": "ocr", "is_chat": bool(result["is_chat"]), "crops": crops, "ocr_row": {
        "url": r["url"], "sha256": r["sha256"], "is_chat": result["is_chat"],
        "prompt": result["prompt"] if result["is_chat"] else None, "boxes": boxes, "lines": result["lines"],
        "engine": result["engine"], "version": result["version"], "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC)}}


def check_screenshots(config, run_id: str, items: Sequence[tuple[dict, bool]]) -> list[dict]:
    """check_screenshot over a partition of (media row, hint); the OCR engine is loaded once per process."""
    return [check_screenshot(config, run_id, r, hint) for r, hint in items]


def screenshot_pass(ctx: RunContext, stats: StageStats, hints: set[str]) -> None:
    """OCR the images that may be chat screenshots (ingest left is_screenshot unset for them); cut out their images.
    Partitions of them are checked by the runner (on Dask workers, or here); their rows are written here."""
    config, store = ctx.config, ctx.store
    rows = store.query(
        """SELECT m.url, m.sha256, m.path, m.format, m.is_screenshot, o.version AS ocr_version
           FROM media m LEFT JOIN screenshot_ocr o ON o.url = m.url
           WHERE m.status = 'ok' AND m.parent_url IS NULL
             AND (m.is_screenshot IS NULL OR (m.is_screenshot AND (o.url IS NULL OR o.version <> ?)))
           ORDER BY m.url""",
        [ocr.OCR_VERSION],
    )
    if not rows:
        return
    runner = ctx.resources.runner
    parts = runner.partitions([(r, r["url"] in hints) for r in rows], FLUSH_EVERY)
    check = functools.partial(check_screenshots, config, ctx.run_id)
    for outcomes in track(runner.map_partitions(check, parts, label="screenshots"), "media: screenshots",
                          enabled=ctx.progress, total=len(parts)):
        not_screenshots: list[dict] = []
        for o in outcomes:
            if o["outcome"] == "unreadable":
                continue
            stats["screenshot_checked"] += 1
            if o["outcome"] == "not_screenshot":
                not_screenshots.append({"url": o["url"], "is_screenshot": False})
                continue
            if o["outcome"] == "ocr_failed":
                stats["ocr_failed"] += 1
                continue
            stats["ocr"] += 1
            if o["is_chat"]:
                stats["screenshots"] += 1
                if o["crops"]:
                    store.upsert("media", o["crops"])
                    stats["crops"] += len(o["crops"])
            store.upsert("screenshot_ocr", [o["ocr_row"]])
            store.upsert("media", [{"url": o["url"], "is_screenshot": o["is_chat"]}], update=["is_screenshot"])
        store.upsert("media", not_screenshots, update=["is_screenshot"])


def run(ctx: RunContext, stats: StageStats) -> None:
    urls, already = pending_urls(ctx.store, ctx.config)
    stats["cached"] += already
    stats["pending"] += len(urls)
    download(ctx, stats, urls)
    if ctx.config.media.ocr:
        unchecked = [r["url"] for r in ctx.store.query(
            "SELECT url FROM media WHERE status = 'ok' AND parent_url IS NULL AND is_screenshot IS NULL")]
        screenshot_pass(ctx, stats, screenshot_hints(ctx.store, unchecked))
