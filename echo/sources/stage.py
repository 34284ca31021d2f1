"""The crawl stage: every enabled source searched (or imported), post trees fetched, posts stored.

Incremental per (source, query): crawl_cursors keeps the watermark of the last completed sweep and, while
a sweep is unfinished, the page cursor it resumes from. Every page is stored with its cursor in one
transaction, so a source that gets blocked mid-way keeps everything so far and the next run resumes
where it stopped. A post seen again updates only its engagement counts, fetched_at and last_run_id.
Trees are fetched once per root (crawl_trees).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from echo.config import SourceConfig
from echo.pipeline import RunContext, StageStats
from echo.progress import track
from echo.records import CrawlError, Post, stable_id
from echo.sources import registry
from echo.sources.base import Parsed, newer
from echo.sources.http import SourceBlocked, SourceError
from echo.store import Store

log = logging.getLogger("echo.sources")

STAGE = "crawl"
ENGAGEMENT = ("like_count", "repost_count", "reply_count", "quote_count")
DEFAULT_MAX_TREES = 100


# --- storing -----------------------------------------------------------------------------------


def _unique_posts(posts: list[Post]) -> list[Post]:
    """One row per post: a search hit (query set) wins over the same post seen as context."""
    best: dict[tuple[str, str], Post] = {}
    for p in posts:
        key = (p.platform, p.post_id)
        if key not in best or (best[key].query is None and p.query is not None):
            best[key] = p
    return list(best.values())


def save_parsed(store: Store, parsed: Parsed, *, run_id: str | None, atomic: bool = True,
                taken_down: Callable[..., bool] | None = None) -> collections.Counter:
    """Upsert a parser's output. New posts are inserted whole; known ones refresh counts, fetched_at, last_run_id.

    atomic=False when the caller already holds a transaction (a page stored together with its cursor).
    taken_down (echo.release.forget.takedown_filter) drops forgotten posts and authors so no crawl brings them back.
    """
    counts: collections.Counter = collections.Counter()
    posts = _unique_posts(parsed.posts)
    if taken_down is not None:
        dropped = {(p.platform, p.post_id) for p in posts
                   if taken_down(p.platform, p.post_id, p.author, url=p.url, author_id=p.author_id)}
        if dropped:
            counts["skipped_takedown"] += len(dropped)
            posts = [p for p in posts if (p.platform, p.post_id) not in dropped]
            parsed = dataclasses.replace(parsed, post_media=[m for m in parsed.post_media
                                                             if (m.platform, m.post_id) not in dropped])
    existing: set[tuple[str, str]] = set()
    by_platform: dict[str, list[str]] = collections.defaultdict(list)
    for p in posts:
        by_platform[p.platform].append(p.post_id)
    for platform, ids in by_platform.items():
        rows = store.query("SELECT post_id FROM posts WHERE platform = ? AND list_contains(?, post_id)", [platform, ids])
        existing.update((platform, r["post_id"]) for r in rows)
    fresh, again = [], []
    for p in posts:
        if (p.platform, p.post_id) in existing:
            row = {"platform": p.platform, "post_id": p.post_id, "fetched_at": p.fetched_at,
                   "last_run_id": run_id or p.last_run_id}
            row.update({k: getattr(p, k) for k in ENGAGEMENT if getattr(p, k) is not None})
            again.append(row)
        else:
            if run_id is not None:
                p = dataclasses.replace(p, run_id=p.run_id or run_id, last_run_id=run_id)
            fresh.append(p)
    with (store.transaction() if atomic else contextlib.nullcontext()):
        store.upsert("posts", fresh)
        # rows with different column sets go in separate batches: a missing count must not become NULL
        groups: dict[tuple[str, ...], list[dict]] = collections.defaultdict(list)
        for row in again:
            groups[tuple(sorted(row))].append(row)
        for cols, rows in groups.items():
            store.upsert("posts", rows, update=[c for c in cols if c not in ("platform", "post_id")])
        media = {(m.platform, m.post_id, m.url): m for m in parsed.post_media}
        store.upsert("post_media", media.values())
        errors = [dataclasses.replace(e, run_id=e.run_id or run_id) for e in parsed.errors]
        store.upsert("crawl_errors", errors, ignore_existing=True)
    counts["posts_new"] += len(fresh)
    counts["posts_seen_again"] += len(again)
    counts["post_media"] += len(media)
    counts["errors"] += len({e.error_id for e in parsed.errors})
    for k, v in parsed.skipped.items():
        counts[f"skipped_{k}"] += v
    return counts


def takedown_check(ctx: RunContext) -> Callable[..., bool]:
    """The run's takedown filter, built once (it reads the salted takedown keys)."""
    if "sources.takedown" not in ctx.cache:
        from echo.release.forget import takedown_filter

        ctx.cache["sources.takedown"] = takedown_filter(ctx.store, ctx.config)
    return ctx.cache["sources.takedown"]


def record_source_error(store: Store, source: SourceConfig, query: str | None, error: SourceError,
                        run_id: str | None) -> None:
    kind = "blocked" if isinstance(error, SourceBlocked) else "http_error"
    now = dt.datetime.now(dt.UTC)
    store.upsert("crawl_errors", [CrawlError(
        error_id=stable_id("source_error", source.name, kind, run_id, str(error)), source=source.name, query=query,
        kind=kind, message=str(error)[:2000], raw=error.body, run_id=run_id, recorded_at=now)], ignore_existing=True)


# --- cursors -----------------------------------------------------------------------------------


def _cursor_row(store: Store, source: str, query: str) -> dict:
    rows = store.query("SELECT cursor, watermark, sweep_newest FROM crawl_cursors WHERE source = ? AND query = ?",
                       [source, query])
    return rows[0] if rows else {"cursor": None, "watermark": None, "sweep_newest": None}


def _write_cursor(store: Store, source: str, query: str, state: Mapping[str, Any], run_id: str) -> None:
    store.upsert("crawl_cursors", [{"source": source, "query": query, "cursor": state["cursor"],
                                    "watermark": state["watermark"], "sweep_newest": state["sweep_newest"],
                                    "updated_at": dt.datetime.now(dt.UTC), "run_id": run_id}])


def crawl_query(ctx: RunContext, source: SourceConfig, connector: Any, query: str, stats: StageStats) -> None:
    """One query's sweep: pages newer than the watermark, each stored with the cursor that follows it."""
    store = ctx.store
    state = dict(_cursor_row(store, source.name, query))
    if state["cursor"]:
        stats["resumed_sweeps"] += 1
    finished = state["cursor"] is None
    for page in connector.search(query, state["cursor"], state["watermark"]):
        for p in page.posts:  # the connector does not know the configured source name or run
            p.source = source.name
        with store.transaction():
            counts = save_parsed(store, page, run_id=ctx.run_id, atomic=False, taken_down=takedown_check(ctx))
            state["sweep_newest"] = newer(state["sweep_newest"], page.newest)
            state["cursor"] = page.next_cursor
            finished = page.next_cursor is None
            if finished:  # sweep complete: what it saw becomes the watermark
                state["watermark"] = newer(state["watermark"], state["sweep_newest"])
                state["sweep_newest"] = None
            _write_cursor(store, source.name, query, state, ctx.run_id)
        stats["pages"] += 1
        stats.update(counts)
    if finished and state["cursor"] is None and state["sweep_newest"] is not None:
        state["watermark"] = newer(state["watermark"], state["sweep_newest"])
        state["sweep_newest"] = None
        _write_cursor(store, source.name, query, state, ctx.run_id)


def pending_trees(store: Store, source: SourceConfig, platform: str, limit: int) -> list[Post]:
    """Search hits of this source whose tree has not been fetched yet, newest first."""
    return store.records("posts", """
        WHERE source = ? AND platform = ? AND query IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM crawl_trees t WHERE t.source = posts.source AND t.platform = posts.platform
              AND t.root_id = coalesce(posts.root_id, posts.post_id))
        ORDER BY created_at DESC NULLS LAST, post_id LIMIT ?""", [source.name, platform, limit])


def fetch_trees(ctx: RunContext, source: SourceConfig, connector: Any, stats: StageStats) -> None:
    limit = int((source.options or {}).get("max_trees", DEFAULT_MAX_TREES))
    hits = pending_trees(ctx.store, source, connector.platform, limit)
    done: set[str] = set()
    for hit in track(hits, f"{source.name}: trees", enabled=ctx.progress):
        root = hit.root_id or hit.post_id
        if root in done:
            continue
        parsed = connector.fetch_tree(hit)
        for p in parsed.posts:
            p.source = source.name
        with ctx.store.transaction():
            counts = save_parsed(ctx.store, parsed, run_id=ctx.run_id, atomic=False, taken_down=takedown_check(ctx))
            ctx.store.upsert("crawl_trees", [{"source": source.name, "platform": connector.platform, "root_id": root,
                                              "hit_id": hit.post_id, "posts": len(parsed.posts),
                                              "fetched_at": dt.datetime.now(dt.UTC), "run_id": ctx.run_id}])
        done.add(root)
        stats["trees_fetched"] += 1
        stats["tree_posts_new"] += counts.pop("posts_new", 0)
        stats.update(counts)


# --- sources -----------------------------------------------------------------------------------


def crawl_live(ctx: RunContext, source: SourceConfig, stats: StageStats, *, env: Mapping[str, str] | None = None) -> None:
    try:
        client = registry.make_client(source, **ctx.cache.get("sources.http", {}))
        connector = registry.build(source, ctx.config, env=env, client=client)
    except (registry.MissingCredentials, SourceError) as e:
        log.warning("%s", e)
        ctx.cache.setdefault("sources.messages", []).append(str(e))
        stats["skipped_sources"] += 1
        return
    query: str | None = None
    try:
        for query in source.queries:
            stats["queries"] += 1
            crawl_query(ctx, source, connector, query, stats)
        query = None
        fetch_trees(ctx, source, connector, stats)
        stats["sources_done"] += 1
    except SourceError as e:
        # keep what was stored; the cursor of the unfinished sweep lets the next run resume
        stats["blocked_sources" if isinstance(e, SourceBlocked) else "failed_sources"] += 1
        record_source_error(ctx.store, source, query, e, ctx.run_id)
        msg = f"source {source.name!r} stopped: {e}"
        log.warning("%s", msg)
        ctx.cache.setdefault("sources.messages", []).append(msg)
    finally:
        for k, v in connector.http.stats.items():
            stats[f"http_{k}" if not k.startswith("http_") else k] += v
        connector.http.close()


def crawl_import(ctx: RunContext, source: SourceConfig, stats: StageStats) -> None:
    from echo.sources.importer import ImportError_, discover, import_files

    paths = []
    for p in source.paths:
        path = ctx.config.resolve(p)
        if path.exists():
            paths.append(path)
        else:
            stats["missing_paths"] += 1
            log.warning("source %r: %s does not exist", source.name, path)
    try:
        files = discover(paths, source.platform)
    except ImportError_ as e:
        stats["skipped_sources"] += 1
        log.warning("source %r skipped: %s", source.name, e)
        ctx.cache.setdefault("sources.messages", []).append(f"source {source.name!r} skipped: {e}")
        return
    failed = []
    for res in import_files(ctx.store, track(files, f"{source.name}: import", enabled=ctx.progress),
                            source=source.name, run_id=ctx.run_id, skip_unchanged=True,
                            taken_down=takedown_check(ctx), max_file_bytes=source.max_file_bytes):
        if res.unchanged:
            stats["files_unchanged"] += 1
            continue
        if res.failed:  # its crawl_errors row is stored; the other files go on
            stats["files_failed"] += 1
            stats["errors"] += res.errors
            failed.append(res)
            continue
        stats["files_imported"] += 1
        stats["posts_new"] += res.posts_new
        stats["posts_seen_again"] += res.posts - res.posts_new - res.taken_down
        stats["skipped_takedown"] += res.taken_down
        stats["post_media"] += res.media
        stats["errors"] += res.errors
    if failed:
        msg = (f"source {source.name!r}: {len(failed)} file(s) failed (see crawl_errors): "
               + "; ".join(f"{r.path}: {r.failed}" for r in failed))
        log.warning("%s", msg)
        ctx.cache.setdefault("sources.messages", []).append(msg)
    stats["sources_done"] += 1


def run(ctx: RunContext) -> None:
    stats = ctx.stage_stats(STAGE)
    wanted = ctx.params.get("sources")  # optional list of source names (echo-bench crawl --source)
    for source in ctx.config.sources:
        if wanted and source.name not in wanted:
            continue
        if not source.enabled:
            stats["disabled_sources"] += 1
            continue
        if source.kind == "import":
            crawl_import(ctx, source, stats)
        else:
            try:
                registry.kind_of(source)
            except registry.UnknownKind as e:
                log.warning("%s", e)
                stats["skipped_sources"] += 1
                continue
            crawl_live(ctx, source, stats)
