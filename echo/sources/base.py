"""The one protocol every source implements, and the result every parser returns.

A platform module (x.py, bluesky.py, reddit.py, mastodon.py, hackernews.py) has:
- pure parsers: `parse_<response kind>(payload, *, ctx: ParseContext) -> Parsed`, used by both the live
  connector and `echo-bench import` (same code path for live and imported data);
- a `Source` class implementing the protocol below over echo.sources.http.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from bs4 import BeautifulSoup

from echo.records import CrawlError, Post, PostMedia, stable_id


def parse_time(value: Any, *, strict: bool = False) -> dt.datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (a trailing Z allowed, naive times taken as UTC).

    Empty gives None; a malformed value gives None, or raises ValueError when strict (the caller then
    records the item as bad instead of storing it without a date).
    """
    if value is None or value == "":
        return None
    try:
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        if strict:
            raise
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def unescape_api_text(text: str | None) -> str | None:
    """Undo the escaping X and Reddit apply to post text in their JSON (&amp; &lt; &gt;; Reddit without
    raw_json=1). Only these three: any other '&name;' in a post is what its author typed."""
    if not text or "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def html_to_text(fragment: str | None) -> str | None:
    """Plain text of an HTML post body: paragraphs and <br> become line breaks, link text is kept,
    Mastodon's invisible URL parts (span.invisible) are dropped."""
    if fragment is None:
        return None
    soup = BeautifulSoup(fragment, "html.parser")
    for span in soup.select("span.invisible"):
        span.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(["p", "pre", "blockquote", "li"]):
        # before, not after: HN's <p> is a separator that is never closed
        tag.insert_before("\n\n" if tag.name != "li" else "\n")
    text = soup.get_text()
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass
class ParseContext:
    """Where parsed items came from: stamped on every Post so lineage is kept."""

    source: str
    query: str | None = None
    run_id: str | None = None
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def error(self, kind: str, message: str, raw: Any) -> CrawlError:
        """A bad item, kept raw so nothing is lost; one bad item never aborts a crawl."""
        import json

        raw_text = raw if isinstance(raw, str) else json.dumps(raw, default=str, ensure_ascii=False)
        return CrawlError(
            error_id=stable_id("crawl_error", self.source, kind, raw_text[:4000]),
            source=self.source, query=self.query, kind=kind, message=message[:2000], raw=raw_text,
            run_id=self.run_id, recorded_at=self.fetched_at,
        )


@dataclass
class Parsed:
    """Normalized output of a parser: posts, their images, and items that could not be read."""

    posts: list[Post] = field(default_factory=list)
    post_media: list[PostMedia] = field(default_factory=list)
    errors: list[CrawlError] = field(default_factory=list)
    next_cursor: str | None = None  # paging cursor of the response, when it has one
    newest: str | None = None       # newest id or timestamp seen (watermark for incremental runs)
    # items seen but deliberately not stored (not_found, blocked, not_a_post ...), for the counts
    skipped: collections.Counter = field(default_factory=collections.Counter)

    def extend(self, other: Parsed) -> Parsed:
        self.posts.extend(other.posts)
        self.post_media.extend(other.post_media)
        self.errors.extend(other.errors)
        self.skipped.update(other.skipped)
        if other.newest is not None:
            self.newest = newer(self.newest, other.newest)
        return self


def isolated(ctx: ParseContext, what: str, raw: Any, parse: Callable[[], Parsed]) -> Parsed:
    """Run a parser on one page (or item): whatever it raises becomes a crawl_error keeping `raw`, so one
    malformed page never stops the pages, files or sources after it."""
    try:
        return parse()
    except Exception as e:  # noqa: BLE001 - any shape a parser does not expect, RecursionError included
        return Parsed(errors=[ctx.error("malformed_page", f"{what} could not be read: {type(e).__name__}: {e}", raw)])


def newer(a: str | None, b: str | None) -> str | None:
    """The newer of two watermarks: numeric ids/epochs compare as numbers, ISO times as text."""
    if a is None:
        return b
    if b is None:
        return a
    for num in (int, float):  # int first: 19-digit tweet ids lose precision as floats
        try:
            return a if num(a) >= num(b) else b
        except ValueError:
            continue
    return a if a >= b else b


class Source(Protocol):
    """A live connector. Constructed with its SourceConfig; credentials come from the environment."""

    platform: str

    def search(self, query: str, cursor: str | None, watermark: str | None) -> Iterator[Parsed]:
        """Pages of search results newer than `watermark`, resuming at `cursor`; each page carries next_cursor/newest."""
        ...

    def fetch_tree(self, root: Post) -> Parsed:
        """The missing context of a candidate: parents, replies and quotes, within the configured depth/breadth."""
        ...
