"""Typed records passed between stages. Each is derived from its table's DDL in schemas/tables,
so a record has exactly the columns it is stored in."""

from __future__ import annotations

import hashlib

from echo.schema import json_schema, record_type

Post = record_type("posts")
Media = record_type("media")
PostMedia = record_type("post_media")
Relevance = record_type("relevance")
Sample = record_type("samples")
Feedback = record_type("feedback")
ImageRole = record_type("image_roles")
Embedding = record_type("embeddings")
Duplicate = record_type("duplicates")
ClusterAssignment = record_type("clusters")
Clustering = record_type("clusterings")
Release = record_type("releases")
Run = record_type("runs")
CrawlCursor = record_type("crawl_cursors")
CrawlError = record_type("crawl_errors")



def post_columns(alias: str) -> str:
    """SELECT list of a Post read for judging or extraction: `raw` (the platform item) comes back NULL, as no
    stage past the crawl reads it and it is most of a post's bytes (1-2 KB of JSON a tweet)."""
    return ", ".join("NULL::JSON AS raw" if c == "raw" else f'{alias}."{c}"' for c in Post.__dataclass_fields__)


PLATFORMS = ("x", "bluesky", "reddit", "mastodon", "hackernews")
# The vocabularies of samples and feedback are defined once, in the JSON Schemas the LLM answers follow.
_SAMPLE = json_schema("llm/tree_to_samples")["properties"]["samples"]["items"]["properties"]
_JUDGEMENT = json_schema("llm/feedback")["properties"]["feedback"]["items"]["properties"]
TASKS = tuple(t for t in _SAMPLE["task"]["enum"] if t is not None)
QUALITIES = tuple(_SAMPLE["quality"]["enum"])
POLARITIES = tuple(_JUDGEMENT["polarity"]["enum"])
FEEDBACK_CATEGORIES = tuple(_JUDGEMENT["categories"]["items"]["enum"])


def stable_id(*parts: object, length: int = 16) -> str:
    """Deterministic short id from parts (sha256 hex prefix); the same inputs give the same id on every run."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return h.hexdigest()[:length]


def sample_id(platform: str, anchor_post_id: str, ordinal: int = 0) -> str:
    """A sample's id depends only on where its prompt was posted, so it survives re-extraction."""
    return stable_id("sample", platform, anchor_post_id, ordinal)
