"""Platform-native ids: atproto TIDs, snowflakes, reddit base36 fullnames, and the URLs built from them."""

from __future__ import annotations

import datetime as dt
import random

from .model import UTC, WINDOW_START, Tree

B32_SORT = "234567abcdefghijklmnopqrstuvwxyz"
B32 = "abcdefghijklmnopqrstuvwxyz234567"
B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
TWITTER_EPOCH_MS = 1288834974657


def micros(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def millis(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(milliseconds=1)


def iso_ms(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def tid(t: dt.datetime, clock: int) -> str:
    """An atproto record key (TID): microseconds << 10 | clock id, base32-sortable."""
    v = (micros(t) << 10) | (clock & 1023)
    out = ""
    for _ in range(13):
        out = B32_SORT[v & 31] + out
        v >>= 5
    return out


def b36(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = B36[r] + out
    return out or "0"


class Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: list[str] = []
        self.user: dict[tuple[str, str], str] = {}

    def unique(self, make) -> str:
        while True:
            v = make()
            if v not in self.seen:
                self.seen.append(v)
                return v

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def user_id(self, platform: str, handle: str) -> str:
        k = (platform, handle)
        if k not in self.user:
            if platform == "bluesky":
                self.user[k] = "did:plc:" + self.chars(B32, 24)
            elif platform == "x":
                self.user[k] = str(self.rng.choice([self.rng.randint(10**7, 10**9), self.rng.randint(10**17, 2 * 10**18)]))
            elif platform == "mastodon":
                ms = millis(WINDOW_START) - self.rng.randint(10**9, 10**11)
                self.user[k] = str((ms << 16) | self.rng.randrange(65536))
            else:
                self.user[k] = "t2_" + b36(self.rng.randint(36**7, 36**8 - 1))
        return self.user[k]

    def cid(self, prefix: str = "bafyrei") -> str:
        return prefix + self.chars(B32, 52)


def assign_ids(trees: list[Tree], ids: Ids) -> None:
    for tr in trees:
        for i, p in enumerate(tr.posts()):
            p.author.uid = ids.user_id(tr.platform, p.author.handle)
            if tr.platform == "bluesky":
                rkey = ids.unique(lambda: tid(p.when, ids.rng.randrange(1024)))
                pid = f"at://{p.author.uid}/app.bsky.feed.post/{rkey}"
                url = f"https://bsky.app/profile/{p.author.handle}/post/{rkey}"
            elif tr.platform == "x":
                pid = ids.unique(lambda: str(((millis(p.when) - TWITTER_EPOCH_MS) << 22) | (ids.rng.randrange(1024) << 12) | ids.rng.randrange(4096)))
                url = f"https://x.com/{p.author.handle}/status/{pid}"
            elif tr.platform == "mastodon":
                pid = ids.unique(lambda: str((millis(p.when) << 16) | ids.rng.randrange(65536)))
                user, _, host = p.author.handle.partition("@")
                url = f"https://{host or 'mastodon.social'}/@{user}/{pid}"
            else:
                # submissions in early 2025 have 7-char base36 ids starting "1j", comments "mk"
                secs = int((p.when - WINDOW_START).total_seconds())
                if i == 0:
                    pid = "t3_" + ids.unique(lambda: b36(int("1jd0000", 36) + secs // 20 + ids.rng.randrange(40)))
                else:
                    pid = "t1_" + ids.unique(lambda: b36(int("mj00000", 36) + secs * 3 + ids.rng.randrange(300)))
                url = ""
            tr.ids[p.key] = pid
            tr.urls[p.key] = url
        if tr.platform == "reddit":
            slug = "_".join("".join(c for c in w.lower() if c.isalnum()) for w in (tr.title or tr.root.text).split()[:8]).strip("_")[:50]
            base = f"/r/{tr.subreddit}/comments/{tr.ids['root'][3:]}/{slug}/"
            for p in tr.posts():
                tr.urls[p.key] = "https://www.reddit.com" + base + ("" if p.key == "root" else tr.ids[p.key][3:] + "/")

