"""Hacker News through the Algolia HN API: search hits, and /items/<id> nested trees.

post_id is the HN item id; a comment's parent_id is its parent item, its root_id the story (story_id).
HTML bodies (comment_text, story_text, text) become plain text; links to image files in the text or
the story URL become post_media. Reads the 2014 Algolia schema too (items whose `children` is a count).

Algolia's HN API needs no key and allows 10,000 requests per hour per IP.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from echo.config import SourceConfig
from echo.records import Post, PostMedia
from echo.sources.base import Parsed, ParseContext
from echo.sources.http import HttpClient, SourceError
from echo.sources.base import html_to_text

PLATFORM = "hackernews"
API_URL = "https://hn.algolia.com/api/v1"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif")
ROOT_TYPES = ("story", "poll", "job", "ask_hn", "show_hn")
BARE_URL = re.compile(r"https?://[^\s<>\"']+")
LITERAL_ESCAPE = re.compile(r"\\([nt])")


def is_image_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url).path.lower().endswith(IMAGE_EXTENSIONS)


def image_links(html: str | None, story_url: str | None = None) -> list[str]:
    """Links to image files: the story URL, then hrefs and bare URLs in the HTML, in order, once each."""
    urls: list[str] = []
    if story_url:
        urls.append(story_url)
    if html:
        soup = BeautifulSoup(html, "html.parser")
        urls.extend(a["href"] for a in soup.find_all("a", href=True))
        urls.extend(u.rstrip(".,);]") for u in BARE_URL.findall(soup.get_text(" ")))
    out: list[str] = []
    for u in urls:
        if is_image_url(u) and u not in out:
            out.append(u)
    return out


def _utc(ts: Any, iso: Any = None) -> dt.datetime | None:
    if ts is not None:
        return dt.datetime.fromtimestamp(int(ts), dt.UTC)
    if iso:
        return dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    return None


def hn_text(body_html: str | None) -> str | None:
    """Plain text of an HN body. Items indexed around 2014 carry literal backslash-n/t sequences where
    the author typed line breaks; they become real whitespace (code in <pre> is left alone)."""
    if body_html is None:
        return None
    pieces = re.split(r"(<pre>.*?</pre>)", body_html, flags=re.S)
    fixed = "".join(p if p.startswith("<pre>") else LITERAL_ESCAPE.sub(
        lambda m: "\n" if m.group(1) == "n" else " ", p) for p in pieces)
    return html_to_text(fixed)


def _story_text(title: str | None, url: str | None, body_html: str | None) -> str | None:
    parts = [p for p in (title, url, hn_text(body_html)) if p]
    return "\n\n".join(parts) or None


def _post(*, item_id: str, kind: str, author: Any, created: dt.datetime | None, title: Any, url: Any,
          body_html: Any, points: Any, replies: Any, parent_id: Any, story_id: Any, raw: dict,
          ctx: ParseContext) -> tuple[Post, list[PostMedia]]:
    is_root = kind in ROOT_TYPES or (not parent_id and kind != "comment")
    text = _story_text(title, url, body_html) if is_root else hn_text(body_html)
    root = item_id if is_root else (str(story_id) if story_id is not None else None)
    post = Post(
        platform=PLATFORM, post_id=item_id, url=ITEM_URL.format(item_id), author=author, author_id=author,
        created_at=created, text=text, like_count=points, reply_count=replies,
        parent_id=None if is_root or parent_id is None else str(parent_id), root_id=root, raw=raw,
        fetched_at=ctx.fetched_at, query=ctx.query, source=ctx.source, run_id=ctx.run_id, last_run_id=ctx.run_id,
    )
    media = [PostMedia(platform=PLATFORM, post_id=item_id, url=u, position=i)
             for i, u in enumerate(image_links(body_html, url if is_root else None))]
    return post, media


def hit_post(hit: dict, ctx: ParseContext) -> tuple[Post, list[PostMedia]]:
    """One Algolia search hit (story, poll, comment)."""
    tags = hit.get("_tags") or []
    kind = "comment" if "comment" in tags or hit.get("comment_text") else next(
        (t for t in tags if t in ROOT_TYPES), "story")
    raw = {k: v for k, v in hit.items() if k != "_highlightResult"}  # highlights only repeat the text
    return _post(item_id=str(hit["objectID"]), kind=kind, author=hit.get("author"),
                 created=_utc(hit.get("created_at_i"), hit.get("created_at")), title=hit.get("title"),
                 url=hit.get("url"), body_html=hit.get("comment_text") if kind == "comment" else hit.get("story_text"),
                 points=hit.get("points"), replies=hit.get("num_comments"), parent_id=hit.get("parent_id"),
                 story_id=hit.get("story_id"), raw=raw, ctx=ctx)


def parse_search(result: dict, ctx: ParseContext) -> Parsed:
    """/search and /search_by_date: hits, with `page`/`nbPages`; next_cursor is the next page number."""
    out = Parsed()
    hits = result.get("hits")
    if not isinstance(hits, list):
        out.errors.append(ctx.error("malformed_page", "hackernews: search result without a hits list", result))
        return out
    for hit in hits:
        try:
            post, media = hit_post(hit, ctx)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            oid = hit.get("objectID") if isinstance(hit, dict) else None
            out.errors.append(ctx.error("bad_item", f"hackernews: unreadable hit {oid}: {type(e).__name__}: {e}", hit))
            continue
        out.posts.append(post)
        out.post_media.extend(media)
    page, pages = result.get("page"), result.get("nbPages")
    if isinstance(page, int) and isinstance(pages, int) and page + 1 < pages:
        out.next_cursor = str(page + 1)
    _newest(out)
    return out


def parse_item(item: dict, ctx: ParseContext, *, max_depth: int | None = None,
               max_posts: int | None = None) -> Parsed:
    """/items/<id>: the item and its nested children, depth-first, within the optional bounds."""
    out = Parsed()
    root_story = item.get("story_id") if isinstance(item, dict) else None

    def walk(node: Any, depth: int, story_id: Any) -> None:
        if max_posts is not None and len(out.posts) >= max_posts:
            return
        try:
            if node.get("type") == "pollopt":
                out.skipped["pollopt"] += 1  # poll options are choices, not posts
                return
            children = node.get("children")
            replies = len(children) if isinstance(children, list) else children if isinstance(children, int) else None
            item_id = str(node["id"])
            post, media = _post(
                item_id=item_id, kind=node.get("type") or "comment", author=node.get("author"),
                created=_utc(node.get("created_at_i"), node.get("created_at")), title=node.get("title"),
                url=node.get("url"), body_html=node.get("text"), points=node.get("points"), replies=replies,
                parent_id=node.get("parent_id"), story_id=node.get("story_id", story_id),
                raw={k: v for k, v in node.items() if k not in ("children", "options")}, ctx=ctx)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
            nid = node.get("id") if isinstance(node, dict) else None
            out.errors.append(ctx.error("bad_item", f"hackernews: unreadable item {nid}: {type(e).__name__}: {e}",
                                        {k: v for k, v in node.items() if k != "children"}
                                        if isinstance(node, dict) else node))
            return
        out.posts.append(post)
        out.post_media.extend(media)
        if isinstance(children, list) and (max_depth is None or depth < max_depth):
            for child in children:
                walk(child, depth + 1, post.root_id)

    if not isinstance(item, dict):
        out.errors.append(ctx.error("malformed_page", "hackernews: item is not an object", item))
        return out
    walk(item, 0, root_story)
    _newest(out)
    return out


def _newest(out: Parsed) -> None:
    times = [int(p.created_at.timestamp()) for p in out.posts if p.created_at is not None]
    if times:
        out.newest = str(max(times))


def parse_payload(obj: Any, ctx: ParseContext) -> Parsed:
    """Any Algolia HN response body, recognised by its shape; also the recorded-fixture list of
    {"url": request, "reply": body} pairs."""
    if isinstance(obj, dict):
        if "hits" in obj:
            return parse_search(obj, ctx)
        if "id" in obj and ("type" in obj or "children" in obj):
            return parse_item(obj, ctx)
        if "username" in obj and "karma" in obj:
            return Parsed(skipped=collections.Counter(not_a_post=1))  # a user profile
    if isinstance(obj, list) and all(isinstance(x, dict) and "reply" in x for x in obj):
        out = Parsed()
        for entry in obj:
            part = parse_payload(entry["reply"], ctx)
            out.extend(part)
        seen: dict[str, Post] = {p.post_id: p for p in out.posts}
        out.posts = list(seen.values())
        out.post_media = list({(m.post_id, m.url): m for m in out.post_media}.values())
        _newest(out)
        return out
    return Parsed(errors=[ctx.error("malformed_page", "not an Algolia HN response this parser knows "
                                    "(search hits, item tree)", obj)])


# --- the live connector -------------------------------------------------------------------------


def _split_cursor(cursor: str | None) -> tuple[str | None, str | None]:
    """Our cursor is '<upper created_at_i>|<lower created_at_i>': a resumed crawl continues below the
    oldest item it had seen, above the watermark it started with (page numbers shift as posts arrive)."""
    if not cursor:
        return None, None
    upper, _, lower = cursor.partition("|")
    return upper or None, lower or None


class Source:
    """Algolia HN search_by_date (newest first). options: tags (default '(story,comment)')."""

    platform = PLATFORM

    def __init__(self, config: SourceConfig, client: HttpClient | None = None, *, env: dict | None = None):
        self.config = config
        self.http = client or HttpClient(PLATFORM, base_url=config.base_url or API_URL,
                                         concurrency=config.concurrency, timeout_s=config.timeout_s,
                                         max_retries=config.max_retries)
        self.tags = (config.options or {}).get("tags", "(story,comment)")

    def _ctx(self, query: str | None) -> ParseContext:
        return ParseContext(source=self.config.name, query=query)

    def search(self, query: str, cursor: str | None, watermark: str | None) -> Iterator[Parsed]:
        upper, lower = _split_cursor(cursor)
        if not cursor:
            lower = watermark
        filters = ",".join(f for f in (f"created_at_i>{lower}" if lower else None,
                                       f"created_at_i<={upper}" if upper else None) if f)
        oldest: int | None = None
        for page_no in range(max(1, self.config.max_pages)):
            body = self.http.get_json("/search_by_date", params={
                "query": query, "tags": self.tags, "numericFilters": filters or None,
                "hitsPerPage": max(1, min(1000, self.config.page_size)), "page": page_no})
            if not isinstance(body, dict):
                raise SourceError("hackernews: search response is not an object", url=API_URL)
            page = parse_search(body, self._ctx(query))
            times = [int(p.created_at.timestamp()) for p in page.posts if p.created_at is not None]
            if times:
                oldest = min(times + ([oldest] if oldest is not None else []))
            more = page.next_cursor is not None
            page.next_cursor = f"{oldest}|{lower or ''}" if more and oldest is not None else None
            yield page
            if not more:
                return

    def fetch_tree(self, root: Post) -> Parsed:
        """The whole story tree from /items/<story id>, within tree_depth levels and tree_breadth posts."""
        story_id = root.root_id or root.post_id
        item = self.http.get_json(f"/items/{int(story_id)}")
        return parse_item(item, self._ctx(None), max_depth=self.config.tree_depth,
                          max_posts=self.config.tree_breadth)
