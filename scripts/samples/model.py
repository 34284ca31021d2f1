"""The tree model: what is posted, independent of platform. Renderers turn trees into native API JSON."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

SEED = 20250325
MEDIA_BASE = "https://echo-samples.invalid/media/"
PLATFORM_DIRS = ("bluesky", "reddit", "mastodon", "x")
TARGET_MODEL = "GPT-4o image generation (4o, ChatGPT image gen, gpt-image-1, Sora images)"

UTC = dt.UTC
WINDOW_START = dt.datetime(2025, 3, 18, 0, 0, tzinfo=UTC)
WINDOW_END = dt.datetime(2025, 4, 29, 0, 0, tzinfo=UTC)
LAUNCH = dt.datetime(2025, 3, 25, 18, 0, tzinfo=UTC)  # 4o image generation in ChatGPT
API_DAY = dt.datetime(2025, 4, 23, 16, 0, tzinfo=UTC)  # gpt-image-1 in the API
RELEASE_DAYS = ["2025-03-25", "2025-03-26", "2025-04-23"]


@dataclass
class Img:
    file: str
    width: int
    height: int
    alt: str = ""
    base: str = MEDIA_BASE  # URL prefix that [media] url_map maps to the corpus's media/ folder

    @property
    def url(self) -> str:
        return self.base + self.file

    @property
    def mime(self) -> str:
        return "image/png" if self.file.endswith(".png") else "image/jpeg"


@dataclass
class Author:
    handle: str
    name: str
    uid: str = ""  # platform user id, filled by the renderer


@dataclass
class Post:
    key: str
    author: Author
    text: str
    when: dt.datetime
    images: list[Img] = field(default_factory=list)
    replies: list[Post] = field(default_factory=list)
    quote_of: str | None = None  # tree_id whose root this post quotes
    lang: str = "en"
    likes: int = 0


@dataclass
class Feedback:
    post_key: str
    polarity: str
    categories: list[str]


@dataclass
class SampleSpec:
    prompt: str | None
    task: str | None
    quality: str
    inputs: list[Img]
    outputs: list[Img]
    evidence: list[str]  # post keys, ordered
    anchor: str
    prompt_modified: bool = False
    fill_blank: str | None = None
    is_screenshot: bool = False
    boxes: dict | None = None
    dup_group: str | None = None
    dup_kind: str | None = None
    feedback: list[Feedback] = field(default_factory=list)


@dataclass
class Tree:
    tree_id: str
    platform: str
    categories: list[str]
    relevant: bool
    root: Post
    samples: list[SampleSpec] = field(default_factory=list)
    subreddit: str = ""
    title: str = ""          # reddit submission title
    reddit_body: str = ""    # reddit selftext
    reddit_gallery: bool = False
    more_stub: int = 0       # reddit: number of unloaded comments behind a `more` stub
    anchor_key: str | None = None  # bluesky: thread fetched at this reply (with `parent` chain)
    notes: str = ""
    # filled by renderers
    ids: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    file: str = ""

    def posts(self) -> list[Post]:
        out: list[Post] = []

        def walk(p: Post) -> None:
            out.append(p)
            for r in p.replies:
                walk(r)

        walk(self.root)
        return out

