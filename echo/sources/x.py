"""X (Twitter) API v2: parsers for response pages and twarc2 JSONL, and the live search connector.

A v2 page is `{"data": [tweets] | tweet, "includes": {"users", "tweets", "media"}, "meta": {...}}`.
Tweets in `data` are search hits (stamped with the query); tweets in `includes.tweets` are context
(replied-to and quoted tweets) and are stored with query NULL. Long posts carry their full text in
`note_tweet.text`. Replies link through `referenced_tweets` (replied_to -> parent_id, quoted ->
quoted_id) and `conversation_id` is the root of the reply tree.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from echo.config import SourceConfig
from echo.records import Post, PostMedia
from echo.sources.base import ParseContext, Parsed, isolated, newer, parse_time, unescape_api_text
from echo.sources.http import HttpClient, HttpStatusError, SourceAuthError

PLATFORM = "x"
API_URL = "https://api.x.com"
TOKEN_ENV = "ECHO_X_BEARER_TOKEN"

TWEET_FIELDS = ("attachments,author_id,conversation_id,created_at,entities,in_reply_to_user_id,lang,note_tweet,"
                "possibly_sensitive,public_metrics,referenced_tweets")
EXPANSIONS = "author_id,attachments.media_keys,referenced_tweets.id,referenced_tweets.id.author_id"
MEDIA_FIELDS = "alt_text,height,media_key,preview_image_url,type,url,width"
USER_FIELDS = "name,username"

# keys that mark a `data` item as something other than a tweet (users, DM events, spaces, lists, counts)
_NOT_TWEET_KEYS = ("username", "event_type", "tweet_count", "host_ids", "member_count", "follower_count")


def _time(value: Any) -> dt.datetime | None:
    return parse_time(value) if isinstance(value, str) else None


def is_tweet(item: Any) -> bool:
    return isinstance(item, dict) and "id" in item and "text" in item and not any(k in item for k in _NOT_TWEET_KEYS)


def tweet_url(tweet_id: str, username: str | None) -> str:
    return f"https://x.com/{username or 'i/web'}/status/{tweet_id}"


def parse_tweet(tweet: dict, ctx: ParseContext, *, users: Mapping[str, dict], media: Mapping[str, dict],
                query: str | None) -> tuple[Post, list[PostMedia]]:
    """One v2 tweet object -> Post and its images, resolving author and media through the page's includes."""
    tid = str(tweet["id"])
    author_id = str(tweet["author_id"]) if tweet.get("author_id") is not None else None
    user = users.get(author_id or "", {})
    text = unescape_api_text((tweet.get("note_tweet") or {}).get("text") or tweet.get("text"))
    refs = {r.get("type"): str(r.get("id")) for r in tweet.get("referenced_tweets") or [] if isinstance(r, dict)}
    parent_id = refs.get("replied_to")
    conversation = tweet.get("conversation_id")
    root_id = str(conversation) if conversation else (tid if parent_id is None else None)
    metrics = tweet.get("public_metrics") or {}
    post = Post(
        platform=PLATFORM, post_id=tid, url=tweet_url(tid, user.get("username")),
        author=user.get("username"), author_id=author_id, created_at=_time(tweet.get("created_at")),
        text=text, lang=tweet.get("lang"),
        like_count=metrics.get("like_count"), repost_count=metrics.get("retweet_count"),
        reply_count=metrics.get("reply_count"), quote_count=metrics.get("quote_count"),
        parent_id=parent_id, root_id=root_id, quoted_id=refs.get("quoted"),
        raw=tweet, fetched_at=ctx.fetched_at, query=query, source=ctx.source, run_id=ctx.run_id,
        last_run_id=ctx.run_id,
    )
    images = []
    keys = (tweet.get("attachments") or {}).get("media_keys") or []
    for key in keys:
        m = media.get(str(key))
        if not m:
            continue  # media not expanded in this response (e.g. a page fetched without expansions)
        url = m.get("url") or m.get("preview_image_url")  # photos have url; videos and GIFs a preview image
        if url:
            images.append(PostMedia(platform=PLATFORM, post_id=tid, url=url, position=len(images),
                                    alt_text=m.get("alt_text")))
    return post, images


def parse_page(page: dict, ctx: ParseContext) -> Parsed:
    """A v2 response page: search recent/all, tweet lookup, quote tweets, timelines, or one streamed tweet."""
    out = Parsed()
    includes = page.get("includes") or {}
    if not isinstance(includes, dict):
        out.errors.append(ctx.error("malformed_page", "X page: includes is not an object", page))
        includes = {}
    users = {str(u.get("id")): u for u in includes.get("users") or [] if isinstance(u, dict)}
    media = {str(m.get("media_key")): m for m in includes.get("media") or [] if isinstance(m, dict)}
    data = page.get("data")
    items = data if isinstance(data, list) else ([data] if isinstance(data, dict) else [])
    seen: set[str] = set()
    context = includes.get("tweets") or []
    for query, batch in ((ctx.query, items), (None, context if isinstance(context, list) else [])):
        for item in batch:
            if not isinstance(item, dict):
                out.errors.append(ctx.error("bad_item", "X data item is not an object", item))
                continue
            if not is_tweet(item):
                out.skipped["not_a_tweet"] += 1  # users, counts, DM events ... in a non-tweet endpoint's page
                continue
            if str(item["id"]) in seen:
                continue  # a hit that is also another hit's context: keep the hit
            try:
                post, images = parse_tweet(item, ctx, users=users, media=media, query=query)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
                out.errors.append(ctx.error("bad_item", f"X tweet {item.get('id')} could not be read: "
                                                        f"{type(e).__name__}: {e}", item))
                continue
            seen.add(post.post_id)
            out.posts.append(post)
            out.post_media.extend(images)
            if batch is items:  # only hits advance the watermark, not their context
                out.newest = newer(out.newest, post.post_id)
    meta = page.get("meta") or {}
    if not isinstance(meta, dict):
        out.errors.append(ctx.error("malformed_page", "X page: meta is not an object", page))
        meta = {}
    out.next_cursor = meta.get("next_token")
    if meta.get("newest_id"):
        out.newest = newer(out.newest, str(meta["newest_id"]))
    return out


def parse_jsonl(text: str, ctx: ParseContext) -> Parsed:
    """twarc2 output: one raw response page a line. A malformed line becomes a crawl_error, not a failure."""
    out = Parsed()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            page = json.loads(line)
        except ValueError as e:
            out.errors.append(ctx.error("malformed_page", f"line {n} is not JSON: {e}", line))
            continue
        out.extend(parse_payload(page, ctx))
    return out


def parse_payload(obj: Any, ctx: ParseContext) -> Parsed:
    """Any X v2 response body by its shape (the importer's entry point)."""
    if isinstance(obj, list):
        out = Parsed()
        for page in obj:
            out.extend(isolated(ctx, "X page", page, lambda: parse_payload(page, ctx)))
        return out
    if isinstance(obj, str):
        return parse_jsonl(obj, ctx)
    if not isinstance(obj, dict):
        return Parsed(errors=[ctx.error("malformed_page", "not an X API v2 response (expected an object)", obj)])
    if "data" in obj or "includes" in obj:
        return parse_page(obj, ctx)
    if is_tweet(obj):  # a bare tweet object
        return parse_page({"data": obj}, ctx)
    if "errors" in obj or ("title" in obj and "detail" in obj):
        return Parsed(errors=[ctx.error("api_error", f"X API error response: {obj.get('title') or obj.get('errors')}"[:500],
                                        obj)])
    out = Parsed()
    out.skipped["not_tweets"] += 1  # token, media upload, rules ...: nothing to store
    return out


# --- the live connector -------------------------------------------------------------------------


class Source:
    """X API v2 recent search (or full-archive search with options.search = "all").

    options: search ("recent" | "all"), tweet_fields, expansions. Credentials: ECHO_X_BEARER_TOKEN.
    """

    platform = PLATFORM

    def __init__(self, config: SourceConfig, client: HttpClient | None = None, *, env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        token = env.get(TOKEN_ENV)
        if not token:
            raise SourceAuthError(f"x: set {TOKEN_ENV} (an app bearer token from the X developer portal)")
        self.config = config
        opts = config.options or {}
        self.search_kind = str(opts.get("search", "recent"))
        if self.search_kind not in ("recent", "all"):
            raise ValueError(f"x: options.search must be 'recent' or 'all', not {self.search_kind!r}")
        self.http = client or HttpClient(PLATFORM, base_url=config.base_url or API_URL, concurrency=config.concurrency,
                                         timeout_s=config.timeout_s, max_retries=config.max_retries)
        self.http.headers["authorization"] = f"Bearer {token}"
        self.fields = {"tweet.fields": opts.get("tweet_fields", TWEET_FIELDS),
                       "expansions": opts.get("expansions", EXPANSIONS),
                       "media.fields": MEDIA_FIELDS, "user.fields": USER_FIELDS}

    def _ctx(self, query: str | None) -> ParseContext:
        return ParseContext(source=self.config.name, query=query)

    def _page_size(self) -> int:
        top = 500 if self.search_kind == "all" else 100
        return max(10, min(top, self.config.page_size))

    def _search_pages(self, query: str, *, cursor: str | None, since_id: str | None, max_pages: int,
                      tag_query: str | None) -> Iterator[Parsed]:
        path = f"/2/tweets/search/{self.search_kind}"
        token = cursor
        for _ in range(max(1, max_pages)):
            params = {"query": query, "max_results": self._page_size(), "next_token": token,
                      "since_id": since_id, **self.fields}
            try:
                body = self.http.get_json(path, params=params)
            except HttpStatusError as e:
                # since_id older than the search window is refused; search the whole window instead
                if e.status == 400 and since_id and "since_id" in (e.body or ""):
                    since_id = None
                    continue
                raise
            page = parse_page(body, self._ctx(tag_query))
            yield page
            token = page.next_cursor
            if not token:
                return

    def search(self, query: str, cursor: str | None, watermark: str | None) -> Iterator[Parsed]:
        """Newest-first pages of tweets newer than `watermark` (since_id), resuming at `cursor` (next_token)."""
        yield from self._search_pages(query, cursor=cursor, since_id=watermark, max_pages=self.config.max_pages,
                                      tag_query=query)

    def lookup(self, ids: list[str]) -> Parsed:
        out = Parsed()
        for i in range(0, len(ids), 100):
            out.extend(parse_page(self.http.get_json("/2/tweets", params={"ids": ",".join(ids[i:i + 100]),
                                                                           **self.fields}), self._ctx(None)))
        return out

    def fetch_tree(self, root: Post) -> Parsed:
        """The conversation (`conversation_id:<id>` search), the root tweet, and quoted tweets, within bounds."""
        conversation = root.root_id or root.post_id
        out = Parsed()
        budget = max(1, self.config.tree_breadth)
        pages = max(1, -(-budget // self._page_size()))
        for page in self._search_pages(f"conversation_id:{conversation}", cursor=None, since_id=None,
                                       max_pages=pages, tag_query=None):
            out.extend(page)
            if len(out.posts) >= budget:
                break
        have = {p.post_id for p in out.posts} | {root.post_id}
        missing = sorted(({conversation} | {p.quoted_id for p in out.posts if p.quoted_id}
                          | ({root.quoted_id} if root.quoted_id else set())) - have)
        if missing:
            out.extend(self.lookup(missing))
        return _bound_depth(out, root.post_id, conversation, self.config.tree_depth)


def _bound_depth(parsed: Parsed, hit_id: str, root_id: str, max_depth: int) -> Parsed:
    """Drop replies deeper than max_depth below the root (conversation search is flat)."""
    parents = {p.post_id: p.parent_id for p in parsed.posts}

    def depth(pid: str) -> int:
        d, cur, seen = 0, pid, set()
        while cur in parents and parents[cur] and cur != root_id and cur not in seen:
            seen.add(cur)
            cur = parents[cur]
            d += 1
        return d

    keep = {p.post_id for p in parsed.posts if p.post_id == hit_id or depth(p.post_id) <= max_depth}
    dropped = len(parsed.posts) - len(keep)
    parsed.posts = [p for p in parsed.posts if p.post_id in keep]
    parsed.post_media = [m for m in parsed.post_media if m.post_id in keep]
    if dropped:
        parsed.skipped["deeper_than_tree_depth"] += dropped
    return parsed

