"""Mastodon: statuses (a hashtag timeline page) and /api/v1/statuses/:id/context."""

from __future__ import annotations

import datetime as dt
import json

from ..ids import B83, iso_ms, millis
from ..model import WINDOW_START, Author, Img, Post, Tree
from .base import RendererBase, split_hashtags


class MastodonRenderer(RendererBase):
    def masto_account(self, a: Author) -> dict:
        if a.uid not in self.authors:
            self.authors[a.uid] = self._masto_account(a)
        return json.loads(json.dumps(self.authors[a.uid]))

    def _masto_account(self, a: Author) -> dict:
        user, _, host = a.handle.partition("@")
        host = host or "mastodon.social"
        created = (WINDOW_START - dt.timedelta(days=self.rng.randint(60, 2000))).strftime("%Y-%m-%dT00:00:00.000Z")
        d = {
            "id": a.uid, "username": user, "acct": a.handle, "display_name": a.name, "locked": False, "bot": False,
            "discoverable": True, "indexable": self.rng.random() < 0.7, "group": False, "created_at": created,
            "note": "<p>art, code, and too many cat pictures</p>", "url": f"https://{host}/@{user}",
            "uri": f"https://{host}/users/{user}",
            "avatar": f"https://files.mastodon.social/accounts/avatars/{a.uid[:3]}/{a.uid[3:6]}/{a.uid[6:9]}/original/{self.ids.chars('0123456789abcdef', 16)}.png",
            "avatar_static": "", "header": "https://mastodon.social/headers/original/missing.png",
            "header_static": "https://mastodon.social/headers/original/missing.png",
            "followers_count": self.rng.randint(3, 9000), "following_count": self.rng.randint(10, 900),
            "statuses_count": self.rng.randint(20, 12000), "last_status_at": "2025-04-28", "hide_collections": False,
            "noindex": False, "emojis": [], "roles": [], "fields": [],
        }
        d["avatar_static"] = d["avatar"]
        return d

    @staticmethod
    def masto_content(text: str, mention: Author | None) -> str:
        def esc(s: str) -> str:
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;")

        def inline(s: str) -> str:
            out = ""
            for is_tag, piece in split_hashtags(s):
                if is_tag:
                    tag = piece[1:]
                    out += (f'<a href="https://mastodon.social/tags/{tag.lower()}" class="mention hashtag" rel="tag">'
                            f"#<span>{esc(tag)}</span></a>")
                else:
                    out += esc(piece)
            return out

        paras = [p for p in text.split("\n\n") if p.strip()]
        html_paras = ["<br />".join(inline(line) for line in p.split("\n")) for p in paras]
        if mention is not None:
            user, _, host = mention.handle.partition("@")
            html_paras[0] = (f'<span class="h-card" translate="no"><a href="https://{host or "mastodon.social"}/@{user}" '
                             f'class="u-url mention">@<span>{user}</span></a></span> ') + html_paras[0]
        return "".join(f"<p>{p}</p>" for p in html_paras)

    def masto_status(self, tr: Tree, p: Post, parent: Post | None) -> dict:
        user, _, host = p.author.handle.partition("@")
        host = host or "mastodon.social"
        mention = parent.author if parent is not None and parent.author is not p.author else None
        acct = self.masto_account(p.author)
        media = []
        for im in p.images:
            mid = self.media_id_masto(im)
            small = (min(im.width, 480), int(im.height * min(im.width, 480) / im.width))
            media.append({
                "id": mid, "type": "image", "url": im.url, "preview_url": im.url, "remote_url": None,
                "preview_remote_url": None, "text_url": None,
                "meta": {"original": {"width": im.width, "height": im.height, "size": f"{im.width}x{im.height}",
                                      "aspect": round(im.width / im.height, 6)},
                         "small": {"width": small[0], "height": small[1], "size": f"{small[0]}x{small[1]}",
                                   "aspect": round(small[0] / small[1], 6)}},
                "description": im.alt or None, "blurhash": "U" + self.ids.chars(B83, 27)})
        tags = [{"name": piece[1:].lower(), "url": f"https://mastodon.social/tags/{piece[1:].lower()}"}
                for is_tag, piece in split_hashtags(p.text) if is_tag]
        return {
            "id": tr.ids[p.key], "created_at": iso_ms(p.when), "in_reply_to_id": tr.ids[parent.key] if parent else None,
            "in_reply_to_account_id": parent.author.uid if parent else None, "sensitive": False, "spoiler_text": "",
            "visibility": "public", "language": p.lang, "uri": f"https://{host}/users/{user}/statuses/{tr.ids[p.key]}",
            "url": tr.urls[p.key], "replies_count": len(p.replies), "reblogs_count": p.likes // 6,
            "favourites_count": p.likes, "quotes_count": self.quote_count(tr, p), "edited_at": None, "favourited": False, "reblogged": False,
            "muted": False, "bookmarked": False, "content": self.masto_content(p.text, mention), "filtered": [],
            "reblog": None, "application": {"name": "Web", "website": None} if host == "mastodon.social" else None,
            "account": acct, "media_attachments": media,
            "mentions": [{"id": mention.uid, "username": mention.handle.partition("@")[0],
                          "url": f"https://{mention.handle.partition('@')[2] or 'mastodon.social'}/@{mention.handle.partition('@')[0]}",
                          "acct": mention.handle}] if mention else [],
            "tags": tags, "emojis": [], "quote": self.masto_quote(p), "card": None, "poll": None,
        }

    def masto_quote(self, p: Post) -> dict | None:
        """Mastodon 4.4+: an accepted quote embeds the quoted Status."""
        if not p.quote_of:
            return None
        q = self.by_id[p.quote_of]
        return {"state": "accepted", "quoted_status": self.masto_status(q, q.root, None)}

    def media_id_masto(self, img: Img) -> str:
        k = "m:" + img.file
        if k not in self.media_ids:
            self.media_ids[k] = str((millis(WINDOW_START) << 16) + self.rng.randrange(10**12))
        return self.media_ids[k]

    def mastodon_context(self, tr: Tree) -> dict:
        desc: list[dict] = []

        def walk(p: Post) -> None:
            for c in p.replies:
                desc.append(self.masto_status(tr, c, p))
                walk(c)

        walk(tr.root)
        return {"ancestors": [], "descendants": desc}
