"""Reddit: parsers for the JSON API (listings, /comments/<id> trees, /api/morechildren) and the OAuth connector.

Ids are fullnames: t3_<id> for submissions, t1_<id> for comments. A comment's parent_id is its parent's
fullname, its root_id the submission's. Submissions carry their images as a direct i.redd.it link, a
gallery (gallery_data order + media_metadata) or inline media_metadata in the self text; animated
images and videos are skipped (the media stage stores still images only).

The API allows 100 queries per minute per OAuth client (x-ratelimit-* headers, reset in seconds) and asks
for an honest, unique User-Agent.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import html
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from echo import __version__
from echo.config import SourceConfig
from echo.records import Post, PostMedia
from echo.sources.base import Parsed, ParseContext, unescape_api_text
from echo.sources.http import REPO_URL, HttpClient, SourceAuthError, SourceError

PLATFORM = "reddit"
WEB_URL = "https://www.reddit.com"
API_URL = "https://oauth.reddit.com"
TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
USER_AGENT = f"python:echo-bench:{__version__} (+{REPO_URL})"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
GONE_TEXTS = ("[deleted]", "[removed]")
MORECHILDREN_BATCH = 100  # the API's limit per /api/morechildren call


@dataclass
class MoreStub:
    """A `more` placeholder in a comment tree: replies not sent with the page."""

    link_id: str
    parent_id: str
    children: list[str] = field(default_factory=list)
    count: int = 0
    depth: int = 0


# --- small helpers ------------------------------------------------------------------------------


def _utc(ts: Any) -> dt.datetime | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(float(ts), dt.UTC)


def is_image_url(url: str | None) -> bool:
    if not url:
        return False
    return urlsplit(url).path.lower().endswith(IMAGE_EXTENSIONS)


def _fullname(data: dict, kind: str) -> str:
    name = data.get("name")
    if isinstance(name, str) and name.startswith(("t1_", "t3_")):
        return name
    if not data.get("id"):
        raise ValueError(f"{kind} without id or name")
    return f"{kind}_{data['id']}"


def _metadata_image(meta: Any) -> str | None:
    """The full-size still image of a media_metadata entry; None for animated images, videos, failures."""
    if not isinstance(meta, dict) or meta.get("status", "valid") != "valid" or meta.get("e") != "Image":
        return None
    source = meta.get("s") or {}
    url = source.get("u")
    return html.unescape(url) if url else None


def skipped_media(data: dict) -> collections.Counter:
    """Uploaded media that are not still images (animated images, videos), by kind, for the counts."""
    kinds = collections.Counter()
    for entry in (data.get("media_metadata") or {}).values():
        if isinstance(entry, dict) and entry.get("e") not in (None, "Image"):
            kinds[f"media_{str(entry['e']).lower()}"] += 1
    return kinds


def link_images(data: dict) -> list[tuple[str, str | None]]:
    """(url, alt text) of a submission's images, in the order the post shows them."""
    out: list[tuple[str, str | None]] = []
    meta = data.get("media_metadata") or {}
    gallery = data.get("gallery_data") or {}
    if data.get("is_gallery") or gallery.get("items"):
        for item in gallery.get("items") or []:
            url = _metadata_image(meta.get(item.get("media_id")))
            if url:
                out.append((url, item.get("caption") or None))
        return out
    url = data.get("url_overridden_by_dest") or data.get("url")
    if is_image_url(url):
        out.append((html.unescape(url), None))
    elif data.get("post_hint") == "image":
        for image in (data.get("preview") or {}).get("images") or []:
            src = (image.get("source") or {}).get("url")
            if src:
                out.append((html.unescape(src), None))
    out.extend(_inline_images(data, data.get("selftext") or ""))
    return out


def _inline_images(data: dict, text: str) -> list[tuple[str, str | None]]:
    """Images uploaded into a self text or comment, ordered by where the text places them."""
    meta = data.get("media_metadata") or {}
    found = []
    for media_id, entry in meta.items():
        url = _metadata_image(entry)
        if url:
            pos = text.find(media_id)
            found.append((pos if pos >= 0 else len(text) + 1, url))
    return [(url, None) for _, url in sorted(found, key=lambda p: p[0])]


def _media_rows(post_id: str, images: list[tuple[str, str | None]]) -> list[PostMedia]:
    rows, seen = [], set()
    for url, alt in images:
        if url in seen:
            continue
        seen.add(url)
        rows.append(PostMedia(platform=PLATFORM, post_id=post_id, url=url, position=len(rows), alt_text=alt))
    return rows


def _raw(data: dict) -> dict:
    # replies are stored as posts of their own; keeping them here too would nest the whole tree in each row
    return {k: v for k, v in data.items() if k != "replies"}


def _stamp(ctx: ParseContext) -> dict:
    return {"fetched_at": ctx.fetched_at, "query": ctx.query, "source": ctx.source, "run_id": ctx.run_id,
            "last_run_id": ctx.run_id}


def link_post(data: dict, ctx: ParseContext) -> tuple[Post, list[PostMedia]]:
    post_id = _fullname(data, "t3")
    title = unescape_api_text(data.get("title")) or ""
    body = unescape_api_text(data.get("selftext")) or ""
    if body in GONE_TEXTS:
        body = ""
    text = title + ("\n\n" + body if body else "")
    author = data.get("author")
    post = Post(
        platform=PLATFORM, post_id=post_id,
        url=WEB_URL + data["permalink"] if data.get("permalink") else data.get("url"),
        author=None if author in GONE_TEXTS else author, author_id=data.get("author_fullname"),
        created_at=_utc(data.get("created_utc")), text=text or None,
        like_count=data.get("score", data.get("ups")), repost_count=data.get("num_crossposts"),
        reply_count=data.get("num_comments"), parent_id=None, root_id=post_id,
        quoted_id=data.get("crosspost_parent"), raw=_raw(data), **_stamp(ctx),
    )
    return post, _media_rows(post_id, link_images(data))


def comment_post(data: dict, ctx: ParseContext) -> tuple[Post, list[PostMedia]]:
    post_id = _fullname(data, "t1")
    body = unescape_api_text(data.get("body"))
    author = data.get("author")
    link_id = data.get("link_id")
    if not link_id and str(data.get("parent_id", "")).startswith("t3_"):
        link_id = data["parent_id"]
    post = Post(
        platform=PLATFORM, post_id=post_id,
        url=WEB_URL + data["permalink"] if data.get("permalink") else None,
        author=None if author in GONE_TEXTS else author, author_id=data.get("author_fullname"),
        created_at=_utc(data.get("created_utc")), text=None if body in GONE_TEXTS else body,
        like_count=data.get("score", data.get("ups")), parent_id=data.get("parent_id"), root_id=link_id,
        raw=_raw(data), **_stamp(ctx),
    )
    return post, _media_rows(post_id, _inline_images(data, body or ""))


# --- parsers ------------------------------------------------------------------------------------


def _newest(parsed: Parsed) -> None:
    times = [p.created_at.timestamp() for p in parsed.posts if p.created_at is not None]
    if times:
        parsed.newest = str(int(max(times)))


def _parse_things(children: Any, ctx: ParseContext, out: Parsed, mores: list[MoreStub] | None,
                  link_id: str | None = None) -> None:
    """Walk listing children (t3, t1 with nested replies, more), one item at a time: a bad item is an error."""
    if not isinstance(children, list):
        out.errors.append(ctx.error("malformed_page", "reddit listing children is not a list", children))
        return
    for thing in children:
        try:
            kind = thing.get("kind")
            data = thing["data"]
            if kind in ("t1", "t3"):
                out.skipped.update(skipped_media(data))
            if kind == "t3":
                post, media = link_post(data, ctx)
                out.posts.append(post)
                out.post_media.extend(media)
                for parent in data.get("crosspost_parent_list") or []:
                    p2, m2 = link_post(parent, ctx)
                    out.posts.append(p2)
                    out.post_media.extend(m2)
            elif kind == "t1":
                post, media = comment_post(data, ctx)
                out.posts.append(post)
                out.post_media.extend(media)
                replies = data.get("replies")
                if isinstance(replies, dict):  # "" when a comment has no replies
                    _parse_things(replies.get("data", {}).get("children", []), ctx, out, mores, post.root_id)
            elif kind == "more":
                if mores is not None and data.get("children"):
                    mores.append(MoreStub(
                        link_id=link_id or data.get("link_id") or "", parent_id=data.get("parent_id") or "",
                        children=list(data["children"]), count=int(data.get("count") or 0),
                        depth=int(data.get("depth") or 0)))
            else:
                out.errors.append(ctx.error("bad_item", f"reddit: unexpected thing kind {kind!r}", thing))
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            data = thing.get("data") if isinstance(thing, dict) else None
            name = (data.get("name") or data.get("id")) if isinstance(data, dict) else None
            out.errors.append(ctx.error("bad_item", f"reddit: unreadable item {name}: {type(e).__name__}: {e}", thing))


def parse_listing(listing: dict, ctx: ParseContext, *, mores: list[MoreStub] | None = None) -> Parsed:
    """A Listing (search, new/hot, /api/info, user overview): its things, next cursor `after` and newest time."""
    out = Parsed()
    data = listing.get("data") or {}
    _parse_things(data.get("children"), ctx, out, mores)
    out.next_cursor = data.get("after")
    _newest(out)
    return out


def parse_comments(pages: list, ctx: ParseContext, *, mores: list[MoreStub] | None = None) -> Parsed:
    """/comments/<id>: [submission listing, comment listing]; `more` stubs are collected into `mores`."""
    out = Parsed()
    link_id = None
    for listing in pages:
        if not isinstance(listing, dict) or listing.get("kind") != "Listing":
            out.errors.append(ctx.error("malformed_page", "reddit: /comments element is not a Listing", listing))
            continue
        before = len(out.posts)
        _parse_things((listing.get("data") or {}).get("children"), ctx, out, mores, link_id)
        link_id = link_id or next((p.post_id for p in out.posts[before:] if p.post_id.startswith("t3_")), None)
    _newest(out)
    return out


def parse_morechildren(obj: dict, ctx: ParseContext, *, mores: list[MoreStub] | None = None) -> Parsed:
    """/api/morechildren (api_type=json): a flat list of comments, each with its parent_id."""
    out = Parsed()
    body = obj.get("json") or {}
    if body.get("errors"):
        out.errors.append(ctx.error("malformed_page", f"reddit morechildren errors: {body['errors']}", obj))
    _parse_things((body.get("data") or {}).get("things", []), ctx, out, mores)
    _newest(out)
    return out


def parse_payload(obj: Any, ctx: ParseContext) -> Parsed:
    """Any Reddit API response body, recognised by its shape."""
    if isinstance(obj, list):
        if obj and all(isinstance(x, dict) and x.get("kind") == "Listing" for x in obj):
            return parse_comments(obj, ctx)
        out = Parsed()  # a list of bare things (some dumps store them so)
        _parse_things(obj, ctx, out, None)
        _newest(out)
        return out
    if isinstance(obj, dict):
        if obj.get("kind") == "Listing":
            return parse_listing(obj, ctx)
        if isinstance(obj.get("json"), dict) and "things" in (obj["json"].get("data") or {}):
            return parse_morechildren(obj, ctx)
        if obj.get("kind") in ("t1", "t3", "more"):
            out = Parsed()
            _parse_things([obj], ctx, out, None)
            _newest(out)
            return out
        name = obj.get("name")
        if isinstance(name, str) and name[:3] in ("t1_", "t3_"):  # a bare thing's data (e.g. editusertext)
            out = Parsed()
            _parse_things([{"kind": name[:2], "data": obj}], ctx, out, None)
            _newest(out)
            return out
        if not obj or "access_token" in obj or ("args" in obj and "asset" in obj) or "output" in obj:
            # OAuth token, an empty action reply ({} from /api/hide), a media upload lease, a converted body
            return Parsed(skipped=collections.Counter(not_a_post=1))
        if isinstance(obj.get("json"), dict):  # an action reply (submit, comment ...): errors or a receipt
            errors = obj["json"].get("errors")
            return Parsed(skipped=collections.Counter(not_a_post=1), errors=[
                ctx.error("malformed_page", f"reddit action errors: {errors}", obj)] if errors else [])
    return Parsed(errors=[ctx.error("malformed_page", "not a Reddit API response this parser knows "
                                    "(Listing, /comments pair, morechildren, thing)", obj)])


# --- the live connector -------------------------------------------------------------------------


class Source:
    """Reddit over OAuth (client credentials). Queries: search text, or `listing:new` / `listing:hot`.

    options: subreddits (list; searched together as r/a+b+c, default all), user_agent, token_url,
    sort (search sort, default new), time_filter (default all).
    """

    platform = PLATFORM

    def __init__(self, config: SourceConfig, client: HttpClient | None = None, *, env: dict | None = None):
        env = os.environ if env is None else env
        self.config = config
        self.client_id = env.get("ECHO_REDDIT_CLIENT_ID")
        self.client_secret = env.get("ECHO_REDDIT_CLIENT_SECRET")
        if not self.client_id or not self.client_secret:
            raise SourceAuthError("reddit: set ECHO_REDDIT_CLIENT_ID and ECHO_REDDIT_CLIENT_SECRET "
                                  "(a 'script' or 'web' app from https://www.reddit.com/prefs/apps)")
        opts = config.options or {}
        self.http = client or HttpClient(PLATFORM, base_url=config.base_url or API_URL,
                                         concurrency=config.concurrency, timeout_s=config.timeout_s,
                                         max_retries=config.max_retries)
        self.http.headers["user-agent"] = opts.get("user_agent") or USER_AGENT
        self.token_url = opts.get("token_url") or TOKEN_URL
        subs = opts.get("subreddits") or ["all"]
        self.subreddits = "+".join(subs) if isinstance(subs, list) else str(subs)
        self.sort = opts.get("sort", "new")
        self.time_filter = opts.get("time_filter", "all")
        self._token_expires = 0.0

    def _ctx(self, query: str | None) -> ParseContext:
        return ParseContext(source=self.config.name, query=query)

    # -- auth
    def _authorize(self) -> None:
        if self.http.clock() < self._token_expires:
            return
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        reply = self.http.request("POST", self.token_url, data={"grant_type": "client_credentials"},
                                  headers={"authorization": f"Basic {basic}"}).json()
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not token:
            raise SourceAuthError(f"reddit: token endpoint gave no access_token: {str(reply)[:200]}",
                                  url=self.token_url)
        self.http.headers["authorization"] = f"bearer {token}"
        # renew a minute early so a long crawl never sends an expired token
        self._token_expires = self.http.clock() + float(reply.get("expires_in") or 3600) - 60

    def _get(self, path: str, params: dict) -> Any:
        self._authorize()
        try:
            return self.http.get_json(path, params={**params, "raw_json": 1})
        except SourceAuthError as e:
            if e.status != 401:
                raise
            self._token_expires = 0.0  # token revoked or expired early: renew once
            self._authorize()
            return self.http.get_json(path, params={**params, "raw_json": 1})

    # -- search
    def search(self, query: str, cursor: str | None, watermark: str | None) -> Iterator[Parsed]:
        """Pages of search (sort=new) or listing results; stops at the watermark (newest created_utc seen)."""
        limit = max(1, min(100, self.config.page_size))
        if query.startswith("listing:"):
            listing = query.split(":", 1)[1] or "new"
            path = f"/r/{self.subreddits}/{listing}"
            base = {"limit": limit}
            time_ordered = listing == "new"
        else:
            path = f"/r/{self.subreddits}/search"
            base = {"q": query, "restrict_sr": 1 if self.subreddits != "all" else 0, "sort": self.sort,
                    "t": self.time_filter, "type": "link", "limit": limit}
            time_ordered = self.sort == "new"
        # our cursor is '<after>|<floor>': a resumed crawl keeps the watermark it started with, so it neither
        # stops at the newer watermark saved meanwhile nor pages past the old one
        after, _, floor = (cursor or "").partition("|")
        floor = floor if cursor else (watermark or "")
        stop_at = float(floor) if floor else None
        after = after or None
        for _ in range(max(1, self.config.max_pages)):
            page = parse_listing(self._get(path, {**base, "after": after}), self._ctx(query))
            done = page.next_cursor is None
            if stop_at is not None and time_ordered and any(
                    p.created_at is not None and p.created_at.timestamp() <= stop_at and p.post_id.startswith("t3_")
                    for p in page.posts):
                done = True
            after = page.next_cursor
            page.next_cursor = None if done else f"{after}|{floor}"
            yield page
            if done:
                return

    # -- trees
    def fetch_tree(self, root: Post) -> Parsed:
        """The submission with its comments (depth/breadth bounded), `more` stubs expanded, and a crosspost parent."""
        link_id = root.root_id if (root.root_id or "").startswith("t3_") else root.post_id
        if not link_id.startswith("t3_"):
            raise SourceError(f"reddit: cannot fetch the tree of {root.post_id!r}: not a fullname")
        breadth = max(1, self.config.tree_breadth)
        ctx = self._ctx(None)
        mores: list[MoreStub] = []
        params = {"depth": self.config.tree_depth, "limit": min(breadth, 500), "sort": "new"}
        if root.post_id.startswith("t1_"):
            path = f"/comments/{link_id[3:]}/_/{root.post_id[3:]}"
            params["context"] = min(self.config.tree_depth, 8)
        else:
            path = f"/comments/{link_id[3:]}"
        out = parse_comments(self._get(path, params), ctx, mores=mores)
        seen = {p.post_id for p in out.posts}
        while mores and len(seen) < breadth:
            stub = mores.pop(0)
            if stub.depth >= self.config.tree_depth:
                continue
            ids = [c for c in stub.children if f"t1_{c}" not in seen]
            while ids and len(seen) < breadth:
                batch = ids[:min(MORECHILDREN_BATCH, breadth - len(seen))]
                ids = ids[len(batch):]
                got = parse_morechildren(self._get("/api/morechildren", {
                    "api_type": "json", "link_id": stub.link_id or link_id, "children": ",".join(batch),
                    "sort": "new", "limit_children": "false"}), ctx, mores=mores)
                fresh = [p for p in got.posts if p.post_id not in seen]
                seen.update(p.post_id for p in fresh)
                out.posts.extend(fresh)
                out.post_media.extend(m for m in got.post_media if m.post_id in {p.post_id for p in fresh})
                out.errors.extend(got.errors)
        quoted = {p.quoted_id for p in out.posts if p.quoted_id} - seen
        if quoted:
            out.extend(parse_listing(self._get("/api/info", {"id": ",".join(sorted(quoted))}), ctx))
        _newest(out)
        return out
