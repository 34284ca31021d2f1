"""The single write point of every crawled or imported post: new posts are inserted whole, known ones only
refresh their engagement counts, fetched_at and last_run_id, and forgotten ones are never stored again."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
from collections.abc import Callable

from echo.records import Post
from echo.sources.base import Parsed
from echo.store import Store

ENGAGEMENT = ("like_count", "repost_count", "reply_count", "quote_count")


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
    taken_down (echo.takedowns.TakedownFilter) drops forgotten posts and authors so no crawl brings them back.
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
        rows = store.query("SELECT p.post_id FROM posts p JOIN (SELECT unnest(?::VARCHAR[]) AS post_id) k "
                           "ON p.post_id = k.post_id WHERE p.platform = ?", [ids, platform])  # a join: 50x list_contains
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
