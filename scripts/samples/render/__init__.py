"""Renderers: abstract trees -> native API JSON, one module per platform."""

from __future__ import annotations

from .base import RendererBase, hash_int, split_hashtags
from .bluesky import BlueskyRenderer
from .mastodon import MastodonRenderer
from .reddit import RedditRenderer
from .x import XRenderer


class Renderer(BlueskyRenderer, RedditRenderer, MastodonRenderer, XRenderer):
    """All four platforms over one shared state (ids, cids, media ids, authors), as the corpus needs."""


__all__ = ["Renderer", "RendererBase", "hash_int", "split_hashtags"]
