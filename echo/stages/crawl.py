"""Search every enabled source (or import its files), fetch each new hit's post tree, store the posts.

Reads: crawl_cursors, crawl_trees, imported_files, takedowns. Writes: posts, post_media, crawl_errors,
crawl_cursors, crawl_trees, imported_files. Done: a query's sweep is complete when its cursor is empty; a
tree is fetched once per root (crawl_trees); an import file is skipped while its sha256 is unchanged.

Per (source, query), crawl_cursors keeps the watermark of the last completed sweep and, while
a sweep is unfinished, the page cursor it resumes from. Every page is stored with its cursor in one
transaction, so a source that gets blocked mid-way keeps everything so far and the next run resumes
where it stopped. A post seen again updates only its engagement counts, fetched_at and last_run_id.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from echo.config import SourceConfig
from echo.progress import track
from echo.records import CrawlError, Post, stable_id
from echo.run import RunContext, StageStats
from echo.sources import registry
from echo.sources.base import newer
from echo.sources.http import SourceBlocked, SourceError
from echo.sources.importer import ImportError_, discover, import_files
from echo.sources.save import save_parsed
from echo.store import Store

log = logging.getLogger("echo.sources")

DEFAULT_MAX_TREES = 100


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
            counts = save_parsed(store, page, run_id=ctx.run_id, atomic=False, taken_down=ctx.resources.takedowns)
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
            counts = save_parsed(ctx.store, parsed, run_id=ctx.run_id, atomic=False,
                                 taken_down=ctx.resources.takedowns)
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
        client = registry.make_client(source, **ctx.resources.source_http)
        connector = registry.build(source, ctx.config, env=env, client=client)
    except (registry.MissingCredentials, SourceError) as e:
        log.warning("%s", e)
        ctx.resources.source_messages.append(str(e))
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
        ctx.resources.source_messages.append(msg)
    finally:
        for k, v in connector.http.stats.items():
            stats[f"http_{k}" if not k.startswith("http_") else k] += v
        connector.http.close()


def crawl_import(ctx: RunContext, source: SourceConfig, stats: StageStats) -> None:
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
        ctx.resources.source_messages.append(f"source {source.name!r} skipped: {e}")
        return
    failed = []
    for res in import_files(ctx.store, track(files, f"{source.name}: import", enabled=ctx.progress),
                            source=source.name, run_id=ctx.run_id, skip_unchanged=True,
                            taken_down=ctx.resources.takedowns, max_file_bytes=source.max_file_bytes):
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
        ctx.resources.source_messages.append(msg)
    stats["sources_done"] += 1


def run(ctx: RunContext, stats: StageStats) -> None:
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
