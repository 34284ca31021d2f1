"""X API v2: search pages with data, includes (users, media, tweets) and meta."""

from __future__ import annotations

import datetime as dt
import json

from ..ids import B36, TWITTER_EPOCH_MS, iso_ms, millis
from ..model import WINDOW_START, Author, Img, Post, Tree
from .base import RendererBase, split_hashtags


class XRenderer(RendererBase):
    def tco(self) -> str:
        return "https://t.co/" + self.ids.unique(lambda: self.ids.chars(B36 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10))

    def media_key(self, img: Img) -> str:
        k = "x:" + img.file
        if k not in self.media_ids:
            self.media_ids[k] = "3_" + str(((millis(WINDOW_START) - TWITTER_EPOCH_MS) << 22) + self.rng.randrange(10**15))
        return self.media_ids[k]

    def x_tweet(self, tr: Tree, p: Post, parent: Post | None) -> dict:
        def esc(s: str) -> str:
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

        body = p.text
        mention = parent.author if parent is not None and parent.author is not p.author else None
        if mention:
            body = f"@{mention.handle} {body}"
        full = esc(body)
        long_post = len(full) > 280
        text = full
        if long_post:
            text = full[:270].rsplit(" ", 1)[0] + "…"
        urls = []
        mentions = []
        if mention:
            mentions.append({"start": 0, "end": len(mention.handle) + 1, "username": mention.handle, "id": mention.uid})
        if p.quote_of:
            q = self.by_id[p.quote_of]
            link = self.tco()
            start = len(text) + 1
            text += " " + link
            urls.append({"start": start, "end": start + len(link), "url": link,
                         "expanded_url": f"https://x.com/{q.root.author.handle}/status/{q.ids['root']}",
                         "display_url": f"x.com/{q.root.author.handle}/s…"})
        if p.images:
            link = self.tco()
            start = len(text) + 1
            text += " " + link
            for i, im in enumerate(p.images):
                urls.append({"start": start, "end": start + len(link), "url": link,
                             "expanded_url": f"https://x.com/{p.author.handle}/status/{tr.ids[p.key]}/photo/{i + 1}",
                             "display_url": f"pic.x.com/{link[-10:]}", "media_key": self.media_key(im)})
        tw: dict = {"id": tr.ids[p.key], "text": text, "edit_history_tweet_ids": [tr.ids[p.key]]}
        if p.images:
            tw["attachments"] = {"media_keys": [self.media_key(im) for im in p.images]}
        tw.update({"author_id": p.author.uid, "created_at": iso_ms(p.when), "conversation_id": tr.ids["root"],
                   "lang": p.lang, "possibly_sensitive": False, "reply_settings": "everyone",
                   "public_metrics": {"retweet_count": p.likes // 8, "reply_count": len(p.replies), "like_count": p.likes,
                                      "quote_count": sum(1 for t in self.trees if t.root.quote_of == tr.tree_id) if parent is None else 0,
                                      "bookmark_count": p.likes // 11, "impression_count": p.likes * 37 + 120}})
        ents: dict = {}
        tags = []
        for is_tag, piece in split_hashtags(text):
            if is_tag:
                s = text.index(piece)
                tags.append({"start": s, "end": s + len(piece), "tag": piece[1:]})
        if mentions:
            ents["mentions"] = mentions
        if tags:
            ents["hashtags"] = tags
        if urls:
            ents["urls"] = urls
        if ents:
            tw["entities"] = ents
        refs = []
        if parent is not None:
            refs.append({"type": "replied_to", "id": tr.ids[parent.key]})
            tw["in_reply_to_user_id"] = parent.author.uid
        if p.quote_of:
            refs.append({"type": "quoted", "id": self.by_id[p.quote_of].ids["root"]})
        if refs:
            tw["referenced_tweets"] = refs
        if long_post:
            tw["note_tweet"] = {"text": full, "entities": {k: v for k, v in ents.items() if k != "urls"}}
        return tw

    def x_user(self, a: Author) -> dict:
        if a.uid not in self.authors:
            self.authors[a.uid] = self._x_user(a)
        return json.loads(json.dumps(self.authors[a.uid]))

    def _x_user(self, a: Author) -> dict:
        return {"id": a.uid, "name": a.name, "username": a.handle,
                "created_at": iso_ms(WINDOW_START - dt.timedelta(days=self.rng.randint(100, 5000))),
                "description": "", "protected": False, "verified": False,
                "profile_image_url": f"https://pbs.twimg.com/profile_images/{self.rng.randint(10**17, 10**18)}/{self.ids.chars(B36, 8)}_normal.jpg",
                "public_metrics": {"followers_count": self.rng.randint(10, 50000), "following_count": self.rng.randint(10, 3000),
                                   "tweet_count": self.rng.randint(100, 60000), "listed_count": self.rng.randint(0, 300)}}

    def x_page(self, trees: list[Tree], next_token: str | None) -> dict:
        tweets: list[tuple[Tree, Post, Post | None]] = []

        def walk(tr: Tree, p: Post, parent: Post | None) -> None:
            tweets.append((tr, p, parent))
            for c in p.replies:
                walk(tr, c, p)

        for tr in trees:
            walk(tr, tr.root, None)
        tweets.sort(key=lambda t: int(t[0].ids[t[1].key]), reverse=True)
        data = [self.x_tweet(tr, p, parent) for tr, p, parent in tweets]
        users: list[Author] = []
        media: list[dict] = []
        ref_tweets: list[dict] = []
        for tr, p, parent in tweets:
            for a in [p.author] + ([parent.author] if parent else []):
                if a not in users:
                    users.append(a)
            for im in p.images:
                m = {"media_key": self.media_key(im), "type": "photo", "url": im.url, "width": im.width, "height": im.height}
                if im.alt:
                    m["alt_text"] = im.alt
                media.append(m)
            if p.quote_of:
                q = self.by_id[p.quote_of]
                ref_tweets.append(self.x_tweet(q, q.root, None))
                if q.root.author not in users:
                    users.append(q.root.author)
            if parent is not None:
                ref_tweets.append(self.x_tweet(tr, parent, self.parent_of(tr, parent)))
        seen: list[str] = []
        uniq_refs = []
        for t in ref_tweets:
            if t["id"] not in seen:
                seen.append(t["id"])
                uniq_refs.append(t)
        meta = {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"], "result_count": len(data)}
        if next_token:
            meta["next_token"] = next_token
        return {"data": data, "includes": {"users": [self.x_user(a) for a in users], "media": media, "tweets": uniq_refs},
                "meta": meta}

    @staticmethod
    def parent_of(tr: Tree, target: Post) -> Post | None:
        for p in tr.posts():
            if target in p.replies:
                return p
        return None
