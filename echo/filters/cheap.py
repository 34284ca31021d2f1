"""Cheap rule filters: pure functions over posts, no model, no network.

A post passes when its text is long enough (posts with images may be short), its language is allowed
(when an allow-list is configured) and its tree mentions a model name from config.filter.keywords.
The keyword rule is tree-aware: a root matches when it, a post of its author's own thread, any reply in
its tree, a post it quotes, or a post quoting one of the tree's posts mentions a model (people often name
the model only when they answer: "which model is this?" "4o"); replies are judged with their root. Which
model it is, and whether that is the target, is the relevance judge's decision, not this filter's.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MODEL = "rules:cheap.v1"
PROMPT_VERSION = "cheap.v1"

# Reasons stored in relevance.reason; failures name the rule that failed.
SHORT_TEXT = "short_text"
LANGUAGE = "language"
NO_KEYWORD = "no_keyword"


@dataclass(frozen=True)
class TreePost:
    """The fields of a post the cheap filters look at."""

    post_id: str
    text: str | None = None
    author: str | None = None
    parent_id: str | None = None
    root_id: str | None = None
    quoted_id: str | None = None
    lang: str | None = None
    n_images: int = 0
    alt_text: str | None = None  # its images' alt texts (authors sometimes name the model only there)

    @property
    def said(self) -> str:
        """Everything the post says: its text and its images' alt texts."""
        return " ".join(t for t in (self.text, self.alt_text) if t)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str


@functools.lru_cache(maxsize=32)
def _keyword_order(keywords: tuple[str, ...]) -> tuple[str, ...]:
    # longest first (so "gpt-4o" wins over "4o"); equal lengths alphabetically, so every run names the same one
    return tuple(sorted({k.strip().lower() for k in keywords if k and k.strip()}, key=lambda k: (-len(k), k)))


@functools.lru_cache(maxsize=32)
def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive regex for all keywords. Inside a keyword, a space or hyphen also matches
    the other or nothing ("nano banana" ~ "nano-banana" ~ "nanobanana"); a keyword never matches inside
    a longer word ("4o" does not match "A4o" or "40")."""
    alts = []
    for kw in _keyword_order(keywords):
        parts = [re.escape(p) for p in re.split(r"[\s\-_]+", kw) if p]
        alts.append("(" + r"[\s\-_]?".join(parts) + ")")  # one group per keyword: lastindex names it
    if not alts:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])", re.IGNORECASE)


def matched_keyword(text: str | None, keywords: Sequence[str]) -> str | None:
    """The configured keyword (lower-cased) first mentioned in text, or None."""
    pattern = keyword_pattern(tuple(keywords))
    if not text or pattern is None:
        return None
    m = pattern.search(text)
    return _keyword_order(tuple(keywords))[m.lastindex - 1] if m else None


def text_long_enough(text: str | None, n_images: int, min_chars: int) -> bool:
    """Posts that carry images may have short (or no) text; others need min_chars non-space characters."""
    if n_images > 0:
        return True
    return len(re.sub(r"\s+", "", text or "")) >= min_chars


def language_allowed(lang: str | None, allowed: Sequence[str]) -> bool:
    """Empty allow-list: any language. A post without a language tag is kept (unknown is not foreign).
    Tags compare by primary subtag: 'en-US' is allowed by 'en'."""
    if not allowed or not lang:
        return True
    primary = lang.lower().replace("_", "-").split("-")[0]
    return any(primary == a.lower().replace("_", "-").split("-")[0] for a in allowed)


def author_thread(tree: Mapping[str, TreePost], root_id: str) -> list[TreePost]:
    """The root and the posts its author wrote as an unbroken self-reply chain down from it."""
    root = tree.get(root_id)
    if root is None:
        return []
    out = [root]
    frontier = {root_id}
    children: dict[str, list[TreePost]] = {}
    for p in tree.values():
        if p.parent_id:
            children.setdefault(p.parent_id, []).append(p)
    while frontier:
        nxt = set()
        for pid in frontier:
            for c in children.get(pid, []):
                if root.author is not None and c.author == root.author and c.post_id not in nxt:
                    out.append(c)
                    nxt.add(c.post_id)
        frontier = nxt
    return out


def tree_keyword(tree: Mapping[str, TreePost], root_id: str, keywords: Sequence[str],
                 quoted: Mapping[str, TreePost] | None = None,
                 quoting: Sequence[TreePost] = ()) -> tuple[str, str] | None:
    """(keyword, where) when the tree mentions a model: the root's author thread first, then what it quotes,
    then any other reply, then posts quoting the tree."""
    thread = author_thread(tree, root_id)
    for p in thread:
        kw = matched_keyword(p.said, keywords)
        if kw:
            return kw, "root" if p.post_id == root_id else "author_thread"
        q = (quoted or {}).get(p.quoted_id or "")
        if q is not None:
            kw = matched_keyword(q.said, keywords)
            if kw:
                return kw, "quoted"
    in_thread = {p.post_id for p in thread}
    for p in tree.values():
        if p.post_id in in_thread:
            continue
        kw = matched_keyword(p.said, keywords)
        if kw:
            return kw, "reply"
        q = (quoted or {}).get(p.quoted_id or "")
        if q is not None and (kw := matched_keyword(q.said, keywords)):
            return kw, "quoted"
    for p in quoting:
        kw = matched_keyword(p.said, keywords)
        if kw:
            return kw, "quote"
    return None


def judge_tree(posts: Iterable[TreePost], *, keywords: Sequence[str], min_chars: int,
               languages: Sequence[str] = (), quoted: Mapping[str, TreePost] | None = None,
               quoting: Sequence[TreePost] = ()) -> dict[str, Verdict]:
    """Verdicts for every post of one reply tree (all posts share a root_id). `quoted`: posts the tree's posts
    quote; `quoting`: posts of other trees that quote one of this tree's posts.

    A reply whose root is not among the posts (an orphan fetched as context) is judged by its own text.
    """
    by_id = {p.post_id: p for p in posts}
    roots = {p.root_id or p.post_id for p in by_id.values()}
    tree_match = {r: tree_keyword(by_id, r, keywords, quoted, quoting) for r in roots if r in by_id}
    out: dict[str, Verdict] = {}
    for p in by_id.values():
        if not text_long_enough(p.text, p.n_images, min_chars):
            out[p.post_id] = Verdict(False, SHORT_TEXT)
            continue
        if not language_allowed(p.lang, languages):
            out[p.post_id] = Verdict(False, f"{LANGUAGE}:{p.lang}")
            continue
        root = p.root_id or p.post_id
        if root in tree_match:
            hit = tree_match[root]
            if hit and p.post_id != root:
                hit = (hit[0], "tree")  # a reply passes with its root
        else:  # orphan reply: its own text, or what it quotes
            hit = tree_keyword({p.post_id: p}, p.post_id, keywords, quoted)
        if hit:
            out[p.post_id] = Verdict(True, f"keyword:{hit[0]}@{hit[1]}")
        else:
            out[p.post_id] = Verdict(False, NO_KEYWORD)
    return out
