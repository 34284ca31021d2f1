"""Reddit: /r/<sub>/comments/<id>.json listings, escaped as reddit does without raw_json=1."""

from __future__ import annotations

import datetime as dt
import hashlib
import html

from ..ids import B36, EPOCH, b36
from ..model import Img, Post, Tree
from .base import RendererBase, hash_int


class RedditRenderer(RendererBase):
    @staticmethod
    def rx(s: str) -> str:
        """Reddit's legacy escaping of every string field (responses without raw_json=1)."""
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    @classmethod
    def md_html(cls, text: str) -> str:
        paras = [p for p in text.split("\n\n") if p.strip()]
        inner = "\n\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paras)
        return cls.rx(f'<div class="md">{inner}\n</div>')

    def preview_url(self, img: Img, width: int | None) -> str:
        sig = hashlib.sha1((img.file + str(width)).encode()).hexdigest()
        q = f"width={width}&crop=smart&auto=webp&s={sig}" if width else f"auto=webp&s={sig}"
        return self.rx(f"{img.url}?{q}")

    def reddit_submission(self, tr: Tree) -> dict:
        p = tr.root
        sid = tr.ids["root"][3:]
        created = float((p.when - EPOCH) // dt.timedelta(seconds=1))
        body = tr.reddit_body
        imgs = p.images
        gallery = bool(imgs) and (tr.reddit_gallery or len(imgs) > 1)
        d: dict = {
            "approved_at_utc": None, "subreddit": tr.subreddit, "selftext": self.rx(body), "author_fullname": p.author.uid,
            "saved": False, "mod_reason_title": None, "gilded": 0, "clicked": False,
            # reddit titles are one line of at most 300 characters
            "title": self.rx(" ".join((tr.title or p.text).split())[:300]), "link_flair_richtext": [],
            "subreddit_name_prefixed": f"r/{tr.subreddit}", "hidden": False, "pwls": 6, "link_flair_css_class": None,
            "downs": 0, "thumbnail_height": 140 if imgs else None, "top_awarded_type": None, "hide_score": False,
        }
        if gallery:
            mids = [self.media_id(im) for im in imgs]
            d["media_metadata"] = {
                m: {"status": "valid", "e": "Image", "m": im.mime,
                    "p": [{"y": int(im.height * w / im.width), "x": w, "u": self.preview_url(im, w)} for w in (108, 216) if w < im.width],
                    "s": {"y": im.height, "x": im.width, "u": im.url}, "id": m}
                for m, im in zip(mids, imgs)}
        d.update({
            "name": tr.ids["root"], "quarantine": False, "link_flair_text_color": "dark",
            "upvote_ratio": round(self.rng.uniform(0.71, 0.99), 2), "author_flair_background_color": None,
            "subreddit_type": "public", "ups": p.likes, "total_awards_received": 0, "media_embed": {},
            "thumbnail_width": 140 if imgs else None, "author_flair_template_id": None, "is_original_content": False,
            "user_reports": [], "secure_media": None, "is_reddit_media_domain": bool(imgs), "is_meta": False,
            "category": None, "secure_media_embed": {}, "link_flair_text": None, "can_mod_post": False,
            "score": p.likes, "approved_by": None, "is_created_from_ads_ui": False, "author_premium": False,
            "thumbnail": imgs[0].url if imgs else "self", "edited": False, "author_flair_css_class": None,
            "author_flair_richtext": [], "gildings": {},
        })
        if imgs and not gallery:
            d["post_hint"] = "image"
        d.update({"content_categories": None, "is_self": not imgs, "mod_note": None, "created": created,
                  "link_flair_type": "text", "wls": 6, "removed_by_category": None, "banned_by": None,
                  "author_flair_type": "text", "domain": ("reddit.com" if gallery else "i.redd.it") if imgs else f"self.{tr.subreddit}",
                  "allow_live_comments": False, "selftext_html": self.md_html(body) if body else None, "likes": None,
                  "suggested_sort": None, "banned_at_utc": None})
        if imgs:
            d["url_overridden_by_dest"] = f"https://www.reddit.com/gallery/{sid}" if gallery else imgs[0].url
        d.update({"view_count": None, "archived": False, "no_follow": False, "is_crosspostable": True, "pinned": False,
                  "over_18": False})
        if imgs and not gallery:
            im = imgs[0]
            d["preview"] = {"images": [{
                "source": {"url": self.preview_url(im, None), "width": im.width, "height": im.height},
                "resolutions": [{"url": self.preview_url(im, w), "width": w, "height": int(im.height * w / im.width)}
                                for w in (108, 216) if w < im.width],
                "variants": {}, "id": self.ids.chars(B36 + "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-", 43)}], "enabled": True}
        if gallery:
            d["is_gallery"] = True
            d["gallery_data"] = {"items": [{"media_id": m, "id": self.rng.randint(10**8, 10**9)} for m in
                                           [self.media_id(im) for im in imgs]]}
        d.update({"all_awardings": [], "awarders": [], "media_only": False, "can_gild": False, "spoiler": False,
                  "locked": False, "author_flair_text": None, "treatment_tags": [], "visited": False, "removed_by": None,
                  "num_reports": None, "distinguished": None, "subreddit_id": "t5_" + b36(abs(hash_int(tr.subreddit)) % 36**6),
                  "author_is_blocked": False, "mod_reason_by": None, "removal_reason": None,
                  "link_flair_background_color": "", "id": sid, "is_robot_indexable": True, "report_reasons": None,
                  "author": p.author.handle, "discussion_type": None, "num_comments": len(tr.posts()) - 1 + tr.more_stub,
                  "send_replies": True, "contest_mode": False, "mod_reports": [], "author_patreon_flair": False,
                  "author_flair_text_color": None, "permalink": tr.urls["root"][len("https://www.reddit.com"):],
                  "stickied": False,
                  "url": (f"https://www.reddit.com/gallery/{sid}" if gallery else imgs[0].url) if imgs else tr.urls["root"],
                  "subreddit_subscribers": {"ChatGPT": 10512433, "OpenAI": 2398120, "singularity": 3712544}.get(tr.subreddit, 184220),
                  "created_utc": created, "num_crossposts": 0, "media": None, "is_video": False})
        return {"kind": "t3", "data": d}

    def media_id(self, img: Img) -> str:
        if img.file not in self.media_ids:
            self.media_ids[img.file] = self.ids.unique(lambda: self.ids.chars(B36, 13))
        return self.media_ids[img.file]

    def reddit_comment(self, tr: Tree, p: Post, parent: Post, depth: int) -> dict:
        created = float((p.when - EPOCH) // dt.timedelta(seconds=1))
        children = [self.reddit_comment(tr, c, p, depth + 1) for c in p.replies]
        replies: dict | str = {"kind": "Listing", "data": {"after": None, "dist": None, "modhash": "", "geo_filter": "",
                                                           "children": children, "before": None}} if children else ""
        d = {
            "subreddit_id": "t5_" + b36(abs(hash_int(tr.subreddit)) % 36**6), "approved_at_utc": None, "author_is_blocked": False,
            "comment_type": None, "awarders": [], "mod_reason_by": None, "banned_by": None, "author_flair_type": "text",
            "total_awards_received": 0, "subreddit": tr.subreddit, "author_flair_template_id": None, "likes": None,
            "replies": replies, "user_reports": [], "saved": False, "id": tr.ids[p.key][3:], "banned_at_utc": None,
            "mod_reason_title": None, "gilded": 0, "archived": False, "collapsed_reason_code": None, "no_follow": p.likes < 2,
            "author": p.author.handle, "can_mod_post": False, "created_utc": created, "send_replies": True,
            "parent_id": tr.ids[parent.key], "score": p.likes or 1, "author_fullname": p.author.uid, "approved_by": None,
            "mod_note": None, "all_awardings": [], "collapsed": False, "body": self.rx(p.text), "edited": False,
            "top_awarded_type": None, "author_flair_css_class": None, "name": tr.ids[p.key], "is_submitter": p.author is tr.root.author,
            "downs": 0, "author_flair_richtext": [], "author_patreon_flair": False, "body_html": self.md_html(p.text),
            "removal_reason": None, "collapsed_reason": None, "distinguished": None, "associated_award": None,
            "stickied": False, "author_premium": False, "can_gild": False, "gildings": {}, "unrepliable_reason": None,
            "author_flair_text_color": None, "score_hidden": False, "permalink": tr.urls[p.key][len("https://www.reddit.com"):],
            "subreddit_type": "public", "locked": False, "report_reasons": None, "created": created, "author_flair_text": None,
            "treatment_tags": [], "link_id": tr.ids["root"], "subreddit_name_prefixed": f"r/{tr.subreddit}",
            "controversiality": 0, "depth": depth, "author_flair_background_color": None, "collapsed_because_crowd_control": None,
            "mod_reports": [], "num_reports": None, "ups": p.likes or 1,
        }
        return {"kind": "t1", "data": d}

    def reddit(self, tr: Tree) -> list:
        comments = [self.reddit_comment(tr, c, tr.root, 0) for c in tr.root.replies]
        if tr.more_stub:
            kids = [self.ids.unique(lambda: b36(int("mj00000", 36) + self.rng.randrange(36**6))) for _ in range(tr.more_stub)]
            comments.append({"kind": "more", "data": {"count": tr.more_stub, "name": f"t1_{kids[0]}", "id": kids[0],
                                                      "parent_id": tr.ids["root"], "depth": 0, "children": kids}})
        listing = lambda children: {"kind": "Listing", "data": {"after": None, "dist": len(children) if children and children[0]["kind"] == "t3" else None,
                                                                 "modhash": "", "geo_filter": "", "children": children, "before": None}}
        return [listing([self.reddit_submission(tr)]), listing(comments)]
