"""Mastodon: parsers for Status lists, v2 search results and /statuses/:id/context, and the connector.

post_id is the status id on the instance the crawl talks to; `url` is the status's own (instance-
qualified) address. A reblog is unwrapped: the reblogged status is the post. Quotes (the `quote` field of
Mastodon 4.4+, or the older `quote`/`quote_id` of forks) set quoted_id. Only image attachments become
post_media; video, gifv and audio attachments are counted in Parsed.skipped (and kept in the raw status).

Instances allow 300 requests per 5 minutes per account or IP; X-RateLimit-Reset is an ISO 8601 time.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from echo.config import SourceConfig
from echo.records import Post, PostMedia
from echo.sources.base import ParseContext, Parsed, html_to_text, parse_time
from echo.sources.http import HttpClient, SourceAuthError, SourceError, next_link

PLATFORM = "mastodon"
DEFAULT_INSTANCE = "https://mastodon.social"
API_URL = DEFAULT_INSTANCE  # the registry builds the client from it when base_url is unset
PAGE_LIMIT = 40  # the API's maximum for timelines and search


# --- parsers ------------------------------------------------------------------------------------


def _time(value: Any) -> dt.datetime | None:
    return parse_time(value, strict=True)


def _id_key(status_id: str) -> tuple[int, str]:
    """Status ids are numeric strings of growing length: compare them as numbers."""
    return (int(status_id), status_id) if status_id.isdigit() else (-1, status_id)


def is_status(obj: Any) -> bool:
    return isinstance(obj, dict) and "id" in obj and "account" in obj and ("content" in obj or "reblog" in obj)


def quoted_status(status: dict) -> tuple[str | None, dict | None]:
    """(quoted id, quoted Status when the server embeds it) from the quote shapes servers use."""
    q = status.get("quote")
    if isinstance(q, dict):
        if is_status(q):  # forks (Fedibird, older glitch) embed the Status itself
            return str(q["id"]), q
        inner = q.get("quoted_status")
        if is_status(inner):
            return str(inner["id"]), inner
        if q.get("quoted_status_id"):
            return str(q["quoted_status_id"]), None
    if status.get("quote_id"):
        return str(status["quote_id"]), None
    return None, None


def status_post(status: dict, ctx: ParseContext, skipped: collections.Counter | None = None,
                ) -> tuple[Post, list[PostMedia]]:
    """One Status (a reblog unwrapped first) -> Post and its image attachments."""
    if is_status(status.get("reblog")):
        status = status["reblog"]
    post_id = str(status["id"])
    account = status.get("account") or {}
    # a delete response carries the author's source `text` and an empty `content`
    content = html_to_text(status.get("content")) or status.get("text") or None
    spoiler = (status.get("spoiler_text") or "").strip()
    text = f"{spoiler}\n\n{content}" if spoiler and content else (spoiler or content)
    quoted_id, _ = quoted_status(status)
    reply_to = status.get("in_reply_to_id")
    post = Post(
        platform=PLATFORM, post_id=post_id, url=status.get("url") or status.get("uri"),
        author=account.get("acct") or account.get("username"),
        author_id=str(account["id"]) if account.get("id") is not None else None,
        created_at=_time(status.get("created_at")), text=text or None, lang=status.get("language"),
        like_count=status.get("favourites_count"), repost_count=status.get("reblogs_count"),
        reply_count=status.get("replies_count"), quote_count=status.get("quotes_count"),
        parent_id=str(reply_to) if reply_to else None, root_id=None if reply_to else post_id,
        quoted_id=quoted_id, raw=status, fetched_at=ctx.fetched_at, query=ctx.query, source=ctx.source,
        run_id=ctx.run_id, last_run_id=ctx.run_id,
    )
    media = []
    for att in status.get("media_attachments") or []:
        url = att.get("url") or att.get("remote_url")
        if att.get("type") == "image" and url:
            if url not in {m.url for m in media}:
                media.append(PostMedia(platform=PLATFORM, post_id=post_id, url=url, position=len(media),
                                       alt_text=att.get("description") or None))
        elif skipped is not None:  # video, gifv, audio, unknown: counted, still in the post's raw
            skipped[f"media_{att.get('type') or 'unknown'}"] += 1
    return post, media


def _add_status(status: Any, ctx: ParseContext, out: Parsed) -> Post | None:
    try:
        if not is_status(status):
            raise ValueError("not a Status (needs id, account and content)")
        post, media = status_post(status, ctx, out.skipped)
        inner = status["reblog"] if is_status(status.get("reblog")) else status
        _, embedded = quoted_status(inner)
        out.posts.append(post)
        out.post_media.extend(media)
        if embedded is not None:
            _add_status(embedded, ctx, out)
        return post
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        sid = status.get("id") if isinstance(status, dict) else None
        out.errors.append(ctx.error("bad_item", f"mastodon: unreadable status {sid}: {type(e).__name__}: {e}", status))
        return None


def _link_roots(posts: list[Post]) -> None:
    """Fill root_id of replies whose parent chain is in the same page."""
    by_id = {p.post_id: p for p in posts}
    for p in posts:
        seen, cur = set(), p
        while cur.root_id is None and cur.parent_id in by_id and cur.post_id not in seen:
            seen.add(cur.post_id)
            cur = by_id[cur.parent_id]
        if cur.root_id is not None and p.root_id is None:
            p.root_id = cur.root_id


def _dedupe(out: Parsed) -> Parsed:
    """One row per status: a page may hold a status and a reblog of it."""
    posts = {p.post_id: p for p in out.posts}
    media = {(m.post_id, m.url): m for m in out.post_media}
    out.posts, out.post_media = list(posts.values()), list(media.values())
    return out


def _newest(out: Parsed) -> None:
    ids = [p.post_id for p in out.posts if p.post_id.isdigit()]
    if ids:
        out.newest = max(ids, key=_id_key)


def parse_statuses(statuses: Any, ctx: ParseContext) -> Parsed:
    """A list of Status entities (timeline page, v2 search `statuses`)."""
    out = Parsed()
    if not isinstance(statuses, list):
        out.errors.append(ctx.error("malformed_page", "mastodon: expected a list of statuses", statuses))
        return out
    for status in statuses:
        _add_status(status, ctx, out)
    _dedupe(out)
    _link_roots(out.posts)
    _newest(out)
    return out


def parse_search(result: dict, ctx: ParseContext) -> Parsed:
    """/api/v2/search: only `statuses` hold posts (accounts and hashtags are not posts)."""
    return parse_statuses(result.get("statuses") or [], ctx)


def parse_context(context: dict, ctx: ParseContext, *, focus: dict | str | None = None) -> Parsed:
    """/api/v1/statuses/:id/context rebuilt into a tree.

    ancestors (oldest first) and descendants link by in_reply_to_id; the root is the first ancestor, or
    the focus status when it has none. `focus` (the status or its id) is optional: without it the focus
    is the one parent the descendants name that is not among them.
    """
    out = Parsed()
    ancestors = context.get("ancestors") or []
    descendants = context.get("descendants") or []
    if not isinstance(ancestors, list) or not isinstance(descendants, list):
        out.errors.append(ctx.error("malformed_page", "mastodon: context ancestors/descendants are not lists",
                                    context))
        return out
    focus_id = str(focus["id"]) if isinstance(focus, dict) else (str(focus) if focus else None)
    for status in ancestors:
        _add_status(status, ctx, out)
    if isinstance(focus, dict):
        _add_status(focus, ctx, out)
    n_before = len(out.posts)
    for status in descendants:
        _add_status(status, ctx, out)
    if focus_id is None:
        inside = {p.post_id for p in out.posts[n_before:]}
        outside = [p.parent_id for p in out.posts[n_before:] if p.parent_id and p.parent_id not in inside]
        focus_id = outside[0] if outside else None
    anc_ids = [str(s["id"]) for s in ancestors if isinstance(s, dict) and "id" in s]
    root_id = anc_ids[0] if anc_ids else focus_id
    if root_id is not None:
        for p in out.posts:
            p.root_id = root_id
    _dedupe(out)
    _newest(out)
    return out


def parse_payload(obj: Any, ctx: ParseContext) -> Parsed:
    """Any Mastodon API response body, recognised by its shape."""
    if isinstance(obj, list):
        if obj and all(isinstance(x, dict) and "name" in x and "account" not in x for x in obj):
            return Parsed(skipped=collections.Counter(not_a_post=len(obj)))  # hashtags (trends)
        return parse_statuses(obj, ctx)
    if isinstance(obj, dict):
        if "ancestors" in obj and "descendants" in obj:
            return parse_context(obj, ctx)
        if "statuses" in obj and ("accounts" in obj or "hashtags" in obj):
            return parse_search(obj, ctx)
        if is_status(obj):
            return parse_statuses([obj], ctx)
        if ("domain" in obj or "uri" in obj) and "title" in obj:
            return Parsed(skipped=collections.Counter(not_a_post=1))  # instance information
        if "acct" in obj and "username" in obj:
            return Parsed(skipped=collections.Counter(not_a_post=1))  # an account
        if "type" in obj and "preview_url" in obj and "account" not in obj:
            return Parsed(skipped=collections.Counter(not_a_post=1))  # a media upload response
    return Parsed(errors=[ctx.error("malformed_page", "not a Mastodon API response this parser knows "
                                    "(status list, search result, context, status)", obj)])


# --- the live connector -------------------------------------------------------------------------


def _query_param(url: str | None, name: str) -> str | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get(name)
    return values[-1] if values else None


def _split_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    """Our cursor is '<max_id>|<since_id>': a resumed crawl keeps the lower bound it started with."""
    if not cursor:
        return None, None
    max_id, _, since_id = cursor.partition("|")
    return max_id or None, since_id or None


class Source:
    """One Mastodon instance (config.base_url). Queries starting with '#' read the hashtag timeline
    (public, no token needed); other queries use /api/v2/search, which needs ECHO_MASTODON_TOKEN for
    full-text results. options: local_only (hashtag timeline of this instance only)."""

    platform = PLATFORM

    def __init__(self, config: SourceConfig, client: HttpClient | None = None, *, env: dict | None = None):
        env = os.environ if env is None else env
        self.config = config
        self.base_url = (config.base_url or DEFAULT_INSTANCE).rstrip("/")
        self.http = client or HttpClient(PLATFORM, base_url=self.base_url, concurrency=config.concurrency,
                                         timeout_s=config.timeout_s, max_retries=config.max_retries)
        self.token = env.get("ECHO_MASTODON_TOKEN") or None
        if self.token:
            self.http.headers["authorization"] = f"Bearer {self.token}"
        self.local_only = bool((config.options or {}).get("local_only", False))

    def _ctx(self, query: str | None) -> ParseContext:
        return ParseContext(source=self.config.name, query=query)

    def search(self, query: str, cursor: str | None, watermark: str | None) -> Iterator[Parsed]:
        """Pages newest first, down to the watermark (newest status id of the last complete crawl)."""
        max_id, since_id = _split_cursor(cursor)
        if not cursor:
            since_id = watermark
        limit = max(1, min(PAGE_LIMIT, self.config.page_size))
        hashtag = query.startswith("#")
        if not hashtag and not self.token:
            raise SourceAuthError(f"mastodon: full-text search of {query!r} needs ECHO_MASTODON_TOKEN "
                                  "(an access token with read:search); hashtag queries ('#tag') work without one")
        for _ in range(max(1, self.config.max_pages)):
            ctx = self._ctx(query)
            if hashtag:
                response = self.http.get(f"/api/v1/timelines/tag/{quote(query[1:], safe='')}", params={
                    "limit": limit, "max_id": max_id, "since_id": since_id,
                    "local": "true" if self.local_only else None})
                statuses = response.json()
                page = parse_statuses(statuses, ctx)
                next_max = _query_param(next_link(response), "max_id") if statuses else None
            else:
                # no min_id: it would page upwards from the watermark; we page down and stop when we reach it
                body = self.http.get_json("/api/v2/search", params={
                    "q": query, "type": "statuses", "limit": limit, "max_id": max_id, "resolve": "false"})
                statuses = body.get("statuses") if isinstance(body, dict) else None
                page = parse_search(body if isinstance(body, dict) else {}, ctx)
                # search has no Link header: the next page lies below the oldest id of this one
                ids = [str(s["id"]) for s in statuses or [] if isinstance(s, dict) and "id" in s]
                next_max = min(ids, key=_id_key) if len(ids) >= limit else None
                if since_id and any(_id_key(i) <= _id_key(since_id) for i in ids):
                    next_max = None
            page.next_cursor = f"{next_max}|{since_id or ''}" if next_max else None
            yield page
            if not next_max:
                return
            max_id = next_max

    def fetch_tree(self, root: Post) -> Parsed:
        """Ancestors and descendants of a status (depth/breadth bounded), and the status it quotes."""
        ctx = self._ctx(None)
        context = self.http.get_json(f"/api/v1/statuses/{quote(root.post_id, safe='')}/context")
        if not isinstance(context, dict):
            raise SourceError(f"mastodon: context of {root.post_id} is not an object", url=self.base_url)
        context = {"ancestors": context.get("ancestors") or [],
                   "descendants": self._bounded(root.post_id, context.get("descendants") or [])}
        out = parse_context(context, ctx, focus=root.post_id)
        have = {p.post_id for p in out.posts} | {root.post_id}
        for quoted_id in sorted({p.quoted_id for p in out.posts if p.quoted_id} | (
                {root.quoted_id} if root.quoted_id else set())):
            if quoted_id not in have:
                status = self.http.get_json(f"/api/v1/statuses/{quote(quoted_id, safe='')}")
                out.extend(parse_statuses([status], ctx))
        _newest(out)
        return out

    def _bounded(self, focus_id: str, descendants: list) -> list:
        """Descendants within tree_depth reply levels of the focus, at most tree_breadth of them."""
        depth = {focus_id: 0}
        dropped: set[str] = set()
        kept = []
        for s in descendants:  # the API lists descendants depth-first, parents before children
            if not isinstance(s, dict):
                continue
            parent = str(s.get("in_reply_to_id") or "")
            d = depth.get(parent, 0) + 1
            if d > self.config.tree_depth or parent in dropped:
                dropped.add(str(s.get("id")))
                continue
            depth[str(s.get("id"))] = d
            kept.append(s)
            if len(kept) >= self.config.tree_breadth:
                break
        return kept
