"""Post trees for extraction: a root, its replies (by root_id) and quote posts, ordered by time with depth.

`build_tree` is pure (records in, Tree out); `load_trees` reads what it needs from the store for many roots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from echo.llm.backend import ImageView, PostView
from echo.llm.cache import input_hash
from echo.records import Media, Post, PostMedia, post_columns
from echo.store import Store


@dataclass(frozen=True)
class Tree:
    platform: str
    root_id: str
    root: PostView
    posts: tuple[PostView, ...]  # root first, then by time
    images: tuple[ImageView, ...]  # every image of every post, in post then position order
    truncated: int = 0  # posts left out beyond max_posts

    def post(self, post_id: str) -> PostView:
        for p in self.posts:
            if p.post_id == post_id:
                return p
        raise KeyError(post_id)

    def images_of(self, post_ids: Iterable[str]) -> list[ImageView]:
        order = {pid: i for i, pid in enumerate(post_ids)}
        ims = [im for im in self.images if im.post_id in order]
        return sorted(ims, key=lambda im: (order[im.post_id], im.position))

    def content_hash(self) -> str:
        """Changes when a post, an image or a downloaded file of the tree changes: then it is re-extracted."""
        return input_hash({
            "posts": [[p.post_id, p.author, p.text, p.parent_id, p.quoted_id, list(p.image_ids)] for p in self.posts],
            "images": [[im.image_id, im.sha256, im.alt_text] for im in self.images],
        })


def _time_key(p: Post) -> tuple:
    t = p.created_at
    if t is None:
        return (1, dt.datetime.max.replace(tzinfo=dt.UTC), p.post_id)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return (0, t, p.post_id)


def build_tree(root: Post, members: Sequence[Post], post_media: Sequence[PostMedia],
               media: dict[str, Media] | None = None, *, media_dir: str | Path | None = None,
               screenshot_hints: dict[str, bool] | None = None, max_posts: int = 150) -> Tree:
    """Order a tree's posts by time (root first) with their depth; attach their images.

    `members` are the replies (root_id = root) and quote posts of the tree, in any order; duplicates and
    posts of other platforms are ignored. Depth follows parent_id (replies) and quoted_id (quotes).
    """
    media = media or {}
    screenshot_hints = screenshot_hints or {}
    by_id: dict[str, Post] = {root.post_id: root}
    for p in members:
        if p.platform == root.platform and p.post_id not in by_id:
            by_id[p.post_id] = p
    depth: dict[str, int] = {root.post_id: 0}

    def depth_of(pid: str, seen: frozenset = frozenset()) -> int:
        if pid in depth:
            return depth[pid]
        p = by_id[pid]
        up = p.parent_id if p.parent_id in by_id else (p.quoted_id if p.quoted_id in by_id else None)
        d = 1 if up is None or pid in seen else depth_of(up, seen | {pid}) + 1
        depth[pid] = d
        return d

    others = sorted((p for pid, p in by_id.items() if pid != root.post_id), key=_time_key)
    truncated = max(0, len(others) - (max_posts - 1))
    ordered = [root] + others[: max_posts - 1]
    images_by_post: dict[str, list[PostMedia]] = {}
    for pm in post_media:
        if pm.post_id in by_id:
            images_by_post.setdefault(pm.post_id, []).append(pm)
    views, images = [], []
    for p in ordered:
        pms = sorted(images_by_post.get(p.post_id, []), key=lambda pm: (pm.position, pm.url))
        views.append(PostView(
            post_id=p.post_id, author=p.author, text=p.text or "", image_ids=tuple(pm.url for pm in pms),
            depth=depth_of(p.post_id), parent_id=p.parent_id, quoted_id=p.quoted_id,
            created_at=p.created_at.isoformat() if p.created_at else None,
        ))
        for pm in pms:
            m = media.get(pm.url)
            ok = m is not None and m.status == "ok" and m.path
            path = None
            if ok:
                path = str(Path(media_dir) / m.path) if media_dir and not Path(m.path).is_absolute() else m.path
            images.append(ImageView(
                image_id=pm.url, post_id=p.post_id, position=pm.position, alt_text=pm.alt_text, path=path,
                sha256=m.sha256 if ok else None, phash=m.phash if ok else None,
                width=m.width if ok else None, height=m.height if ok else None,
                content_type=m.content_type if ok else None, is_screenshot_hint=screenshot_hints.get(pm.url),
            ))
    return Tree(platform=root.platform, root_id=root.post_id, root=views[0], posts=tuple(views),
                images=tuple(images), truncated=truncated)


def load_trees(store: Store, roots: Sequence[tuple[str, str]], *, media_dir: str | Path | None = None,
               max_posts: int = 150) -> list[Tree]:
    """Trees for (platform, root_id) pairs: posts by root_id, posts quoting any of them, and posts they quote.

    Every join is an equality join (a join on "a OR b" degrades to a join on platform alone), and the posts,
    images and media rows of all the trees are read in one query each.
    """
    if not roots:
        return []
    cols = post_columns("p")
    rows = store.query(f"""
        WITH roots AS (SELECT unnest(?::VARCHAR[]) AS platform, unnest(?::VARCHAR[]) AS root_id),
        tree AS (
            SELECT r.root_id AS tree_root, {cols} FROM posts p JOIN roots r
              ON p.platform = r.platform AND p.post_id = r.root_id
            UNION
            SELECT r.root_id AS tree_root, {cols} FROM posts p JOIN roots r
              ON p.platform = r.platform AND p.root_id = r.root_id
        ),
        quotes AS (
            SELECT t.tree_root, {cols} FROM posts p JOIN tree t ON p.platform = t.platform AND p.quoted_id = t.post_id
            UNION
            SELECT t.tree_root, {cols} FROM posts p JOIN tree t ON p.platform = t.platform AND p.post_id = t.quoted_id
        )
        SELECT * FROM tree
        UNION ALL BY NAME
        SELECT * FROM quotes q WHERE coalesce(q.root_id, q.post_id) <> q.tree_root""",
        [[r[0] for r in roots], [r[1] for r in roots]])
    members: dict[tuple[str, str], list[Post]] = {}
    for r in rows:
        tree_root = r.pop("tree_root")
        members.setdefault((r["platform"], tree_root), []).append(Post(**r))
    keys = sorted({(p.platform, p.post_id) for posts in members.values() for p in posts})
    pm_rows = store.records("post_media", """
        JOIN (SELECT unnest(?::VARCHAR[]) AS k_platform, unnest(?::VARCHAR[]) AS k_post_id) k
          ON post_media.platform = k.k_platform AND post_media.post_id = k.k_post_id""",
        [[k[0] for k in keys], [k[1] for k in keys]])
    urls = sorted({pm.url for pm in pm_rows})
    media = {m.url: m for m in store.records(
        "media", "JOIN (SELECT unnest(?::VARCHAR[]) AS k_url) k ON media.url = k.k_url", [urls])}
    hints = {url: bool(m.is_screenshot) for url, m in media.items() if m.is_screenshot is not None}
    pms_by_post: dict[tuple[str, str], list[PostMedia]] = {}
    for pm in pm_rows:
        pms_by_post.setdefault((pm.platform, pm.post_id), []).append(pm)
    trees = []
    for platform, root_id in roots:
        posts = members.get((platform, root_id), [])
        root = next((p for p in posts if p.post_id == root_id), None)
        if root is None:
            continue
        pms = [pm for p in posts for pm in pms_by_post.get((platform, p.post_id), [])]
        trees.append(build_tree(root, posts, pms, media, media_dir=media_dir, screenshot_hints=hints,
                                max_posts=max_posts))
    return trees
