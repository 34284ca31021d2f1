"""What the platform renderers share: hashtag runs, stable hashes, and the renderer state."""

from __future__ import annotations

import hashlib
import re

from ..drawing import MediaStore
from ..ids import Ids
from ..model import Img, Post, Tree


def split_hashtags(text: str) -> list[tuple[bool, str]]:
    """Text as (is_hashtag, piece) runs; a hashtag starts after whitespace and holds a letter."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in re.finditer(r"(?:(?<=\s)|^)#(\w*[^\W\d_]\w*)", text):
        if m.start() > pos:
            out.append((False, text[pos:m.start()]))
        out.append((True, m.group(0)))
        pos = m.end()
    if pos < len(text):
        out.append((False, text[pos:]))
    return out


def hash_int(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:12], 16)



class RendererBase:
    """State shared by the platform renderers: ids, content ids, media ids and author objects made once."""

    def __init__(self, trees: list[Tree], media: MediaStore, ids: Ids) -> None:
        self.trees = trees
        self.media = media
        self.ids = ids
        self.rng = ids.rng
        self.by_id = {t.tree_id: t for t in trees}
        self.cids: dict[str, str] = {}
        self.blob: dict[str, str] = {}
        self.media_ids: dict[str, str] = {}
        self.authors: dict[str, dict] = {}

    def cid(self, key: str, prefix: str = "bafyrei") -> str:
        if key not in self.cids:
            self.cids[key] = self.ids.cid(prefix)
        return self.cids[key]

    def size_of(self, img: Img) -> int:
        return len(self.media.files[img.file])

    def quote_count(self, tr: Tree, p: Post) -> int:
        """How many trees' roots quote this post (only roots are quoted)."""
        return sum(1 for t in self.trees if t.root.quote_of == tr.tree_id) if p is tr.root else 0
