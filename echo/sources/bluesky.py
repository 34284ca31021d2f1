"""Bluesky (AT Protocol app view): parsers for post views, threads, feeds and quotes; the live connector.

Post ids are at:// URIs. A post view carries the record (text, reply refs, embed) and a hydrated embed
view with CDN image URLs. Replies link through record.reply (parent/root), quotes through an
app.bsky.embed.record or recordWithMedia embed. Posts embedded in other posts (quoted viewRecords)
and the parents in feed items are stored too, as context.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from echo.config import SourceConfig
from echo.records import Post, PostMedia
from echo.sources.base import ParseContext, Parsed, isolated, newer, parse_time
from echo.sources.http import HttpClient, HttpStatusError, SourceAuthError, SourceError

log = logging.getLogger("echo.sources.bluesky")

PLATFORM = "bluesky"
API_URL = "https://bsky.social"  # the entryway: with a session it proxies app-view calls
CDN = "https://cdn.bsky.app/img"
HANDLE_ENV = "ECHO_BLUESKY_HANDLE"
PASSWORD_ENV = "ECHO_BLUESKY_APP_PASSWORD"
POST_COLLECTION = "app.bsky.feed.post"

KNOWN_EMBEDS = {
    "app.bsky.embed.images", "app.bsky.embed.video", "app.bsky.embed.external", "app.bsky.embed.record",
    "app.bsky.embed.recordWithMedia",
}


def _time(value: Any) -> dt.datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def split_uri(uri: str) -> tuple[str, str, str]:
    """at://did/collection/rkey -> (did, collection, rkey)."""
    if not uri.startswith("at://"):
        raise ValueError(f"not an at:// URI: {uri!r}")
    parts = uri[5:].split("/")
    if len(parts) != 3:
        raise ValueError(f"not a record URI: {uri!r}")
    return parts[0], parts[1], parts[2]


def post_url(uri: str, handle: str | None) -> str | None:
    try:
        did, collection, rkey = split_uri(uri)
    except ValueError:
        return None
    return f"https://bsky.app/profile/{handle or did}/post/{rkey}" if collection == POST_COLLECTION else None


def _embed_type(embed: Any) -> str | None:
    t = embed.get("$type") if isinstance(embed, dict) else None
    return t.split("#")[0] if t else None


def _quoted_uri(record_embed: Any) -> str | None:
    """The quoted post's URI from a record's embed (record or recordWithMedia), if it is a post."""
    kind = _embed_type(record_embed)
    ref = None
    if kind == "app.bsky.embed.record":
        ref = (record_embed.get("record") or {}).get("uri")
    elif kind == "app.bsky.embed.recordWithMedia":
        ref = ((record_embed.get("record") or {}).get("record") or {}).get("uri")
    if isinstance(ref, str):
        try:
            if split_uri(ref)[1] == POST_COLLECTION:
                return ref
        except ValueError:
            return None
    return None


def _blob_url(did: str, image: dict) -> str | None:
    ref = (image.get("image") or {}).get("ref") or {}
    cid = ref.get("$link") if isinstance(ref, dict) else None
    cid = cid or (image.get("image") or {}).get("cid")
    if not cid:
        return None
    mime = (image.get("image") or {}).get("mimeType") or "image/jpeg"
    fmt = {"image/png": "png", "image/webp": "webp"}.get(mime, "jpeg")
    return f"{CDN}/feed_fullsize/plain/{did}/{cid}@{fmt}"


def _images_from_view(embed: Any) -> list[tuple[str, str | None]]:
    """(fullsize URL, alt) from a hydrated embed view; a video contributes its thumbnail."""
    if not isinstance(embed, dict):
        return []
    kind = _embed_type(embed)
    if kind == "app.bsky.embed.images":
        return [(i.get("fullsize") or i.get("thumb"), i.get("alt") or None)
                for i in embed.get("images") or [] if isinstance(i, dict) and (i.get("fullsize") or i.get("thumb"))]
    if kind == "app.bsky.embed.video":
        return [(embed["thumbnail"], embed.get("alt") or None)] if embed.get("thumbnail") else []
    if kind == "app.bsky.embed.recordWithMedia":
        return _images_from_view(embed.get("media"))
    return []


def _images_from_record(did: str, embed: Any) -> list[tuple[str, str | None]]:
    """CDN URLs built from blob refs, for records seen without a hydrated view (getRecord, viewRecord.value)."""
    kind = _embed_type(embed)
    if kind == "app.bsky.embed.images":
        return [(u, i.get("alt") or None) for i in embed.get("images") or []
                if isinstance(i, dict) and (u := _blob_url(did, i))]
    if kind == "app.bsky.embed.recordWithMedia":
        return _images_from_record(did, embed.get("media"))
    return []


class _Collector:
    """Accumulates posts of one payload, each post once (the first, fullest view wins)."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        self.out = Parsed()
        self.seen: set[str] = set()

    def post(self, *, uri: str, author: dict | None, record: dict, view: dict | None, raw: dict,
             query: str | None, embed_views: list | None = None) -> Post | None:
        if uri in self.seen:
            return None
        did = split_uri(uri)[0]
        author = author or {}
        reply = record.get("reply") or {}
        parent = (reply.get("parent") or {}).get("uri")
        root = (reply.get("root") or {}).get("uri")
        view = view or {}
        langs = record.get("langs") or []
        post = Post(
            platform=PLATFORM, post_id=uri, url=post_url(uri, author.get("handle")), author=author.get("handle"),
            author_id=author.get("did") or did, created_at=_time(record.get("createdAt")), text=record.get("text"),
            lang=langs[0] if langs else None,
            like_count=view.get("likeCount"), repost_count=view.get("repostCount"),
            reply_count=view.get("replyCount"), quote_count=view.get("quoteCount"),
            parent_id=parent, root_id=root or (uri if parent is None else None),
            quoted_id=_quoted_uri(record.get("embed")), raw=raw, fetched_at=self.ctx.fetched_at, query=query,
            source=self.ctx.source, run_id=self.ctx.run_id, last_run_id=self.ctx.run_id,
        )
        self.seen.add(uri)
        self.out.posts.append(post)
        embed = record.get("embed")
        if embed is not None and _embed_type(embed) not in KNOWN_EMBEDS:
            self.out.errors.append(self.ctx.error("unknown_embed", f"bluesky: unknown embed type "
                                                                   f"{_embed_type(embed)!r} on {uri}", raw))
        views = embed_views if embed_views is not None else ([view["embed"]] if view.get("embed") else [])
        images = [img for v in views for img in _images_from_view(v)]
        if not images and embed is not None:
            images = _images_from_record(did, embed)
        seen_urls: set[str] = set()
        for url, alt in images:
            if url in seen_urls:
                continue
            seen_urls.add(url)
            self.out.post_media.append(PostMedia(platform=PLATFORM, post_id=uri, url=url, position=len(seen_urls) - 1,
                                                 alt_text=alt))
        # posts quoted inside this one arrive hydrated: store them as context
        for v in views:
            self._embedded(v)
        return post

    def _embedded(self, embed_view: Any) -> None:
        kind = _embed_type(embed_view)
        if kind == "app.bsky.embed.record":
            self.view_record(embed_view.get("record"))
        elif kind == "app.bsky.embed.recordWithMedia":
            inner = embed_view.get("record")  # an app.bsky.embed.record#view, often without its $type
            if isinstance(inner, dict):
                self.view_record(inner.get("record"))

    def view_record(self, rec: Any) -> None:
        """app.bsky.embed.record#viewRecord (a quoted post); notFound/blocked/feed-generator views are skipped."""
        if not isinstance(rec, dict):
            return
        t = rec.get("$type", "")
        if t.endswith("#viewRecord") and isinstance(rec.get("value"), dict) and "uri" in rec:
            try:
                if split_uri(rec["uri"])[1] != POST_COLLECTION:
                    self.out.skipped["not_a_post"] += 1
                    return
            except ValueError:
                return
            self.guard(rec, lambda: self.post(uri=rec["uri"], author=rec.get("author"), record=rec["value"],
                                              view=rec, raw=rec, query=None, embed_views=rec.get("embeds") or []))
        elif t.endswith("#viewNotFound"):
            self.out.skipped["not_found"] += 1
        elif t.endswith("#viewBlocked"):
            self.out.skipped["blocked"] += 1
        elif t.endswith("#viewDetached"):
            self.out.skipped["detached"] += 1
        else:
            self.out.skipped["not_a_post"] += 1  # feed generator, list, starter pack, labeler

    def post_view(self, view: Any, query: str | None) -> Post | None:
        if not isinstance(view, dict):
            self.out.errors.append(self.ctx.error("bad_item", "bluesky: post view is not an object", view))
            return None
        t = view.get("$type", "")
        if t.endswith("#notFoundPost") or view.get("notFound"):
            self.out.skipped["not_found"] += 1
            return None
        if t.endswith("#blockedPost") or view.get("blocked"):
            self.out.skipped["blocked"] += 1
            return None
        return self.guard(view, lambda: self.post(uri=view["uri"], author=view.get("author"),
                                                  record=view["record"], view=view, raw=view, query=query))

    def guard(self, raw: Any, fn):
        try:
            return fn()
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            uri = raw.get("uri") if isinstance(raw, dict) else None
            self.out.errors.append(self.ctx.error("bad_item", f"bluesky: post {uri} could not be read: "
                                                              f"{type(e).__name__}: {e}", raw))
            return None

    def thread(self, node: Any, query: str | None, depth_up: int = 0) -> None:
        """app.bsky.feed.defs#threadViewPost with its parent chain and nested replies."""
        if not isinstance(node, dict):
            return
        t = node.get("$type", "")
        if t.endswith("#notFoundPost") or node.get("notFound"):
            self.out.skipped["not_found"] += 1
            return
        if t.endswith("#blockedPost") or node.get("blocked"):
            self.out.skipped["blocked"] += 1
            return
        if "post" not in node:
            self.out.errors.append(self.ctx.error("bad_item", f"bluesky: unknown thread node {t!r}", node))
            return
        self.post_view(node["post"], query)
        if node.get("parent") is not None:
            self.thread(node["parent"], None, depth_up + 1)
        for child in node.get("replies") or []:
            self.thread(child, None)


def _mark_newest(out: Parsed) -> None:
    for p in out.posts:
        if p.query is not None and p.created_at is not None:
            out.newest = newer(out.newest, p.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def parse_posts(body: dict, ctx: ParseContext) -> Parsed:
    """searchPosts, getPosts or getQuotes output: {"posts": [postView], "cursor"?}."""
    c = _Collector(ctx)
    views = body.get("posts") or []
    if not isinstance(views, list):
        c.out.errors.append(ctx.error("malformed_page", "bluesky: posts is not a list", body))
        views = []
    for view in views:
        c.post_view(view, ctx.query)
    c.out.next_cursor = body.get("cursor")
    _mark_newest(c.out)
    return c.out


def parse_feed(body: dict, ctx: ParseContext) -> Parsed:
    """Author feed, timeline, custom feed or likes: {"feed": [{post, reply: {root, parent}, reason}]}."""
    c = _Collector(ctx)
    for item in body.get("feed") or []:
        if not isinstance(item, dict):
            c.out.errors.append(ctx.error("bad_item", "bluesky: feed item is not an object", item))
            continue
        c.post_view(item.get("post"), ctx.query)
        reply = item.get("reply") or {}
        for key in ("parent", "root", "grandparentAuthor"):
            if isinstance(reply.get(key), dict) and "uri" in reply[key]:
                c.post_view(reply[key], None)
    c.out.next_cursor = body.get("cursor")
    _mark_newest(c.out)
    return c.out


def parse_thread(body: dict, ctx: ParseContext) -> Parsed:
    """getPostThread output: {"thread": threadViewPost | notFoundPost | blockedPost}."""
    c = _Collector(ctx)
    c.thread(body.get("thread"), ctx.query)
    _mark_newest(c.out)
    return c.out


def parse_record(body: dict, ctx: ParseContext) -> Parsed:
    """com.atproto.repo.getRecord output for a post: {"uri", "cid", "value": post record} (no author view)."""
    c = _Collector(ctx)
    value = body.get("value")
    if not isinstance(value, dict) or value.get("$type", POST_COLLECTION) != POST_COLLECTION:
        c.out.skipped["not_a_post"] += 1
        return c.out
    c.guard(body, lambda: c.post(uri=body["uri"], author=None, record=value, view=None, raw=body, query=ctx.query))
    return c.out


def parse_payload(obj: Any, ctx: ParseContext) -> Parsed:
    """Any Bluesky response body by its shape (the importer's entry point)."""
    if isinstance(obj, list):
        out = Parsed()
        for item in obj:
            out.extend(isolated(ctx, "bluesky response", item, lambda: parse_payload(item, ctx)))
        return out
    if not isinstance(obj, dict):
        return Parsed(errors=[ctx.error("malformed_page", "not a Bluesky API response (expected an object)", obj)])
    if "thread" in obj:
        return parse_thread(obj, ctx)
    if "posts" in obj:
        return parse_posts(obj, ctx)
    if "feed" in obj and isinstance(obj["feed"], list):
        return parse_feed(obj, ctx)
    if "value" in obj and "uri" in obj:
        return parse_record(obj, ctx)
    if "uri" in obj and "record" in obj:  # a bare post view
        return parse_posts({"posts": [obj]}, ctx)
    if "error" in obj and "message" in obj:
        return Parsed(errors=[ctx.error("api_error", f"bluesky API error: {obj['error']}: {obj['message']}", obj)])
    out = Parsed()
    out.skipped["not_posts"] += 1  # follows, profiles, sessions ...: nothing to store
    return out


# --- session -------------------------------------------------------------------------------------


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (unverified: only to refresh before the server refuses it)."""
    try:
        payload = token.split(".")[1]
        return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return None


class Session:
    """An app-password session persisted to a file (mode 0600) and reused across runs.

    createSession is rate-limited hard (30 per 5 minutes, 300 per day per account), so a stored session is
    refreshed with refreshSession and only re-created when its refresh token is no longer accepted.
    """

    def __init__(self, http: HttpClient, identifier: str, password: str, path: Path | None,
                 clock=time.time):
        self.http = http
        self.identifier = identifier
        self.password = password
        self.path = path
        self.clock = clock
        self.data: dict | None = None
        self.stats = {"created": 0, "refreshed": 0, "reused": 0}
        if path is not None and path.exists():
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored.get("identifier") == identifier and stored.get("accessJwt"):
                    self.data = stored
                    self.stats["reused"] += 1
            except (OSError, ValueError) as e:
                log.warning("bluesky: ignoring unreadable session file %s: %s", path, e)

    def _save(self) -> None:
        if self.path is None or self.data is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)

    def _store(self, reply: Any) -> None:
        if not isinstance(reply, dict) or not reply.get("accessJwt") or not reply.get("refreshJwt"):
            raise SourceAuthError(f"bluesky: session response without tokens: {str(reply)[:200]}")
        self.data = {"identifier": self.identifier, "did": reply.get("did"), "handle": reply.get("handle"),
                     "accessJwt": reply["accessJwt"], "refreshJwt": reply["refreshJwt"],
                     "saved_at": dt.datetime.now(dt.UTC).isoformat()}
        self._save()

    def create(self) -> None:
        try:
            reply = self.http.post_json("/xrpc/com.atproto.server.createSession",
                                        json_body={"identifier": self.identifier, "password": self.password})
        except HttpStatusError as e:
            if e.status in (400, 401):
                raise SourceAuthError(f"bluesky: createSession refused for {self.identifier}: {e.body}",
                                      status=e.status, url=e.url) from e
            raise
        self.stats["created"] += 1
        self._store(reply)

    def refresh(self) -> None:
        """Swap the refresh token for a new pair; fall back to a new session when it is refused."""
        if self.data is None:
            return self.create()
        try:
            reply = self.http.post_json("/xrpc/com.atproto.server.refreshSession",
                                        headers={"authorization": f"Bearer {self.data['refreshJwt']}"})
        except (HttpStatusError, SourceAuthError) as e:
            if e.status not in (400, 401):
                raise
            log.info("bluesky: refresh token refused (%s); creating a new session", e.status)
            return self.create()
        self.stats["refreshed"] += 1
        self._store(reply)

    def access_token(self) -> str:
        if self.data is None:
            self.create()
        else:
            exp = jwt_expiry(self.data["accessJwt"])
            if exp is not None and exp - 60 <= self.clock():
                self.refresh()
        assert self.data is not None
        return self.data["accessJwt"]


def _expired(e: SourceError) -> bool:
    return e.status in (400, 401) and any(w in (e.body or "") for w in ("ExpiredToken", "InvalidToken"))


# --- the live connector -------------------------------------------------------------------------


class Source:
    """Bluesky searchPosts (sort=latest, `since` = watermark), getPostThread and getQuotes, with an app-password session.

    options: sort (latest|top), until (ISO time), lang, parent_height (default tree_depth), quotes (default
    true), session_file (default <data_dir>/sessions/bluesky-<source name>.json).
    Credentials: ECHO_BLUESKY_HANDLE and ECHO_BLUESKY_APP_PASSWORD.
    """

    platform = PLATFORM

    def __init__(self, config: SourceConfig, client: HttpClient | None = None, *, env: Mapping[str, str] | None = None,
                 state_dir: str | os.PathLike | None = None):
        env = os.environ if env is None else env
        handle, password = env.get(HANDLE_ENV), env.get(PASSWORD_ENV)
        if not handle or not password:
            raise SourceAuthError(f"bluesky: set {HANDLE_ENV} and {PASSWORD_ENV} "
                                  "(an app password from Settings > Privacy and security > App passwords)")
        self.config = config
        self.opts = config.options or {}
        self.http = client or HttpClient(PLATFORM, base_url=config.base_url or API_URL, concurrency=config.concurrency,
                                         timeout_s=config.timeout_s, max_retries=config.max_retries)
        if self.opts.get("session_file"):
            path: Path | None = Path(self.opts["session_file"])
        elif state_dir is not None:
            path = Path(state_dir) / "sessions" / f"bluesky-{config.name}.json"
        else:
            path = None
        self.session = Session(self.http, handle, password, path, clock=self.http.clock)

    def _ctx(self, query: str | None) -> ParseContext:
        return ParseContext(source=self.config.name, query=query)

    def _get(self, method: str, params: dict) -> Any:
        for attempt in (0, 1):
            token = self.session.access_token()
            try:
                return self.http.get_json(f"/xrpc/{method}", params=params,
                                          headers={"authorization": f"Bearer {token}"})
            except (HttpStatusError, SourceAuthError) as e:
                if attempt == 0 and _expired(e):
                    self.session.refresh()
                    continue
                raise
        raise AssertionError("unreachable")

    def search(self, query: str, cursor: str | None, watermark: str | None) -> Iterator[Parsed]:
        """searchPosts pages newest first, `since` the watermark (newest createdAt seen), resuming at `cursor`."""
        limit = max(1, min(100, self.config.page_size))
        for _ in range(max(1, self.config.max_pages)):
            body = self._get("app.bsky.feed.searchPosts", {
                "q": query, "sort": self.opts.get("sort", "latest"), "limit": limit, "cursor": cursor,
                "since": watermark, "until": self.opts.get("until"), "lang": self.opts.get("lang")})
            page = parse_posts(body, self._ctx(query))
            yield page
            cursor = page.next_cursor
            if not cursor or not body.get("posts"):
                return

    def fetch_tree(self, root: Post) -> Parsed:
        """The whole thread from its root (replies to tree_depth, parents), plus quotes of the hit."""
        out = Parsed()
        budget = max(1, self.config.tree_breadth)
        top = root.root_id or root.post_id
        depth = max(0, min(1000, self.config.tree_depth))
        parent_height = int(self.opts.get("parent_height", depth))
        body = self._get("app.bsky.feed.getPostThread", {"uri": top, "depth": depth, "parentHeight": parent_height})
        out.extend(parse_thread(body, self._ctx(None)))
        if top != root.post_id and root.post_id not in {p.post_id for p in out.posts}:
            # the hit sits deeper than `depth` below the root: fetch its own branch too
            body = self._get("app.bsky.feed.getPostThread", {"uri": root.post_id, "depth": depth,
                                                             "parentHeight": parent_height})
            out.extend(parse_thread(body, self._ctx(None)))
        if self.opts.get("quotes", True):
            cursor = None
            while len(out.posts) < budget:
                body = self._get("app.bsky.feed.getQuotes", {"uri": root.post_id, "cursor": cursor,
                                                             "limit": min(100, budget - len(out.posts))})
                out.extend(parse_posts({"posts": body.get("posts") or []}, self._ctx(None)))
                cursor = body.get("cursor")
                if not cursor or not body.get("posts"):
                    break
        if len(out.posts) > budget:
            keep = {p.post_id for p in out.posts[:budget]} | {root.post_id}
            out.skipped["over_tree_breadth"] += len(out.posts) - len(keep)
            out.posts = [p for p in out.posts if p.post_id in keep]
            out.post_media = [m for m in out.post_media if m.post_id in keep]
        return out
