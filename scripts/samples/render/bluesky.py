"""Bluesky: app.bsky.feed.getPostThread responses (threadViewPost, embeds, facets, parent chains)."""

from __future__ import annotations

import datetime as dt
import json

from ..ids import iso_ms
from ..model import WINDOW_START, Author, Img, Post, Tree
from .base import RendererBase, split_hashtags


class BlueskyRenderer(RendererBase):
    def bsky_author(self, a: Author) -> dict:
        if a.uid not in self.authors:
            self.authors[a.uid] = self._bsky_author(a)
        return json.loads(json.dumps(self.authors[a.uid]))

    def _bsky_author(self, a: Author) -> dict:
        return {
            "did": a.uid, "handle": a.handle, "displayName": a.name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{a.uid}/{self.cid('avatar' + a.uid, 'bafkrei')}@jpeg",
            "associated": {"chat": {"allowIncoming": self.rng.choice(["all", "following"])}},
            "viewer": {"muted": False, "blockedBy": False}, "labels": [],
            "createdAt": iso_ms(WINDOW_START - dt.timedelta(days=self.rng.randint(30, 700), seconds=self.rng.randint(0, 86399))),
        }

    def bsky_images_record(self, imgs: list[Img]) -> dict:
        return {"$type": "app.bsky.embed.images", "images": [
            {"alt": im.alt, "aspectRatio": {"height": im.height, "width": im.width},
             "image": {"$type": "blob", "ref": {"$link": self.cid("blob" + im.file, "bafkrei")}, "mimeType": im.mime,
                       "size": self.size_of(im)}} for im in imgs]}

    def bsky_images_view(self, imgs: list[Img]) -> dict:
        return {"$type": "app.bsky.embed.images#view", "images": [
            {"thumb": im.url, "fullsize": im.url, "alt": im.alt, "aspectRatio": {"height": im.height, "width": im.width}}
            for im in imgs]}

    def bsky_record(self, tr: Tree, p: Post, parent: Post | None) -> tuple[dict, dict | None]:
        rec: dict = {"$type": "app.bsky.feed.post", "createdAt": iso_ms(p.when)}
        view = None
        if p.quote_of and p.images:
            q = self.by_id[p.quote_of]
            qref = {"cid": self.cid(q.ids["root"]), "uri": q.ids["root"]}
            rec["embed"] = {"$type": "app.bsky.embed.recordWithMedia", "media": self.bsky_images_record(p.images),
                            "record": {"$type": "app.bsky.embed.record", "record": qref}}
            view = {"$type": "app.bsky.embed.recordWithMedia#view", "media": self.bsky_images_view(p.images),
                    "record": {"record": self.bsky_view_record(q)}}
        elif p.quote_of:  # a quote without media of its own
            q = self.by_id[p.quote_of]
            qref = {"cid": self.cid(q.ids["root"]), "uri": q.ids["root"]}
            rec["embed"] = {"$type": "app.bsky.embed.record", "record": qref}
            view = {"$type": "app.bsky.embed.record#view", "record": self.bsky_view_record(q)}
        elif p.images:
            rec["embed"] = self.bsky_images_record(p.images)
            view = self.bsky_images_view(p.images)
        facets = []
        for is_tag, piece in split_hashtags(p.text):
            if is_tag:
                start = len(p.text[: p.text.index(piece)].encode("utf-8"))
                facets.append({"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": piece[1:]}],
                               "index": {"byteEnd": start + len(piece.encode("utf-8")), "byteStart": start}})
        if facets:
            rec["facets"] = facets
        rec["langs"] = [p.lang]
        if parent is not None:
            root = tr.root
            rec["reply"] = {"parent": {"cid": self.cid(tr.ids[parent.key]), "uri": tr.ids[parent.key]},
                            "root": {"cid": self.cid(tr.ids[root.key]), "uri": tr.ids[root.key]}}
        rec["text"] = p.text
        return rec, view

    def bsky_view_record(self, q: Tree) -> dict:
        """app.bsky.embed.record#viewRecord of the root of tree q (a quoted post, hydrated)."""
        qrec, qview = self.bsky_record(q, q.root, None)
        return {"$type": "app.bsky.embed.record#viewRecord", "uri": q.ids["root"], "cid": self.cid(q.ids["root"]),
                "author": self.bsky_author(q.root.author), "value": qrec, "labels": [],
                "likeCount": q.root.likes, "replyCount": len(q.root.replies), "repostCount": q.root.likes // 9,
                "quoteCount": 1, "indexedAt": iso_ms(q.root.when), "embeds": [qview] if qview else []}

    def bsky_post_view(self, tr: Tree, p: Post, parent: Post | None) -> dict:
        rec, view = self.bsky_record(tr, p, parent)
        pv: dict = {"uri": tr.ids[p.key], "cid": self.cid(tr.ids[p.key]), "author": self.bsky_author(p.author), "record": rec}
        if view:
            pv["embed"] = view
        quotes = sum(1 for t in self.trees if t.root.quote_of == tr.tree_id) if p is tr.root else 0
        pv.update({"replyCount": len(p.replies), "repostCount": p.likes // 7, "likeCount": p.likes, "quoteCount": quotes,
                   "indexedAt": iso_ms(p.when + dt.timedelta(milliseconds=self.rng.randint(80, 900))),
                   "viewer": {"threadMuted": False, "embeddingDisabled": False}, "labels": []})
        return pv

    def bluesky(self, tr: Tree) -> dict:
        def tvp(p: Post, parent: Post | None) -> dict:
            return {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.bsky_post_view(tr, p, parent),
                    "replies": [tvp(c, p) for c in p.replies]}

        if not tr.anchor_key:
            thread = tvp(tr.root, None)
        else:
            chain = [tr.root]
            while chain[-1].key != tr.anchor_key:
                chain.append(next(c for c in chain[-1].replies if c.key == tr.anchor_key or self.has_key(c, tr.anchor_key)))

            def parent_view(i: int) -> dict:
                view = {"$type": "app.bsky.feed.defs#threadViewPost",
                        "post": self.bsky_post_view(tr, chain[i], chain[i - 1] if i else None)}
                if i:
                    view["parent"] = parent_view(i - 1)
                return view

            anchor = chain[-1]
            thread = {"$type": "app.bsky.feed.defs#threadViewPost", "post": self.bsky_post_view(tr, anchor, chain[-2]),
                      "parent": parent_view(len(chain) - 2), "replies": [tvp(c, anchor) for c in anchor.replies]}
        thread["threadContext"] = {}
        return {"thread": thread}

    @staticmethod
    def has_key(p: Post, key: str) -> bool:
        return p.key == key or any(BlueskyRenderer.has_key(c, key) for c in p.replies)
