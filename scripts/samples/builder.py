"""The builder's state and helpers: authors, timestamps, tree ids, feedback replies."""

from __future__ import annotations

import datetime as dt
import random

from .content import CHATTER, FEEDBACK_BANK, FIRST, I2I_EDITS, LAST, MASTODON_HOSTS, T2I_PROMPTS, WORDS
from .drawing import MediaStore
from .model import MEDIA_BASE, API_DAY, LAUNCH, PLATFORM_DIRS, UTC, WINDOW_END, WINDOW_START, Author, Feedback, Post, Tree


class TreeBuilder:
    """What every generated corpus needs: the random source, the media, the trees, authors and times."""

    tree_class: type[Tree] = Tree

    def __init__(self, seed: int, media_base: str = MEDIA_BASE) -> None:
        self.rng = random.Random(seed)
        self.media = MediaStore(media_base)
        self.trees: list[Tree] = []
        self.used_handles: list[str] = []
        self.counters: dict[str, int] = {p: 0 for p in PLATFORM_DIRS}
        self.img_seed = 1000

    # --- helpers
    def next_seed(self) -> int:
        self.img_seed += 1
        return self.img_seed

    def author(self, platform: str) -> Author:
        r = self.rng
        while True:
            first, last, word = r.choice(FIRST), r.choice(LAST), r.choice(WORDS)
            style = r.randrange(4)
            if platform == "reddit":
                handle = [f"{first.capitalize()}{word.capitalize()}{r.randint(10, 9999)}", f"{first}_{last}",
                          f"Throwaway_{word.capitalize()}{r.randint(1, 99)}", f"{word}{first}{r.randint(1, 999)}"][style]
            elif platform == "bluesky":
                handle = [f"{first}{last}.bsky.social", f"{first}-{word}.bsky.social", f"{first}.{last}.com",
                          f"{word}by{first}.bsky.social"][style]
            elif platform == "mastodon":
                handle = [f"{first}", f"{first}_{word}", f"{first}{last[:3]}", f"{word}{first}"][style]
                host = r.choice(MASTODON_HOSTS)
                handle = handle if host == "mastodon.social" else f"{handle}@{host}"
            else:
                handle = [f"{first}{word}", f"{first}_{last}", f"{first}{last[:2]}{r.randint(1, 99)}", f"{word}{first}"][style]
            if handle not in self.used_handles:
                self.used_handles.append(handle)
                name = f"{first.capitalize()} {last.capitalize()}" if style != 3 else f"{first.capitalize()} ✨"
                return Author(handle, name)

    def when_relevant(self) -> dt.datetime:
        r = self.rng
        u = r.random()
        if u < 0.22:
            base = LAUNCH + dt.timedelta(minutes=r.randint(20, 6 * 60 - 30))
        elif u < 0.40:
            base = dt.datetime(2025, 3, 26, tzinfo=UTC) + dt.timedelta(minutes=r.randint(0, 24 * 60 - 1))
        elif u < 0.55:
            base = API_DAY + dt.timedelta(minutes=r.randint(10, 7 * 60))
        else:
            span = int((WINDOW_END - LAUNCH).total_seconds() // 60)
            base = LAUNCH + dt.timedelta(minutes=r.randint(24 * 60, span - 1))
        return base.replace(second=r.randint(0, 59), microsecond=r.randint(0, 999) * 1000)

    def when_any(self) -> dt.datetime:
        span = int((WINDOW_END - WINDOW_START).total_seconds() // 60)
        t = WINDOW_START + dt.timedelta(minutes=self.rng.randint(0, span - 1))
        return t.replace(second=self.rng.randint(0, 59), microsecond=self.rng.randint(0, 999) * 1000)

    def later(self, t: dt.datetime, lo: int = 2, hi: int = 300) -> dt.datetime:
        return t + dt.timedelta(minutes=self.rng.randint(lo, hi), seconds=self.rng.randint(0, 59))

    def tree_id(self, platform: str) -> str:
        self.counters[platform] += 1
        short = {"bluesky": "bsky", "reddit": "rddt", "mastodon": "mstd", "x": "x"}[platform]
        return f"{short}-{self.counters[platform]:03d}"

    def new_tree(self, platform: str, categories: list[str], relevant: bool, root: Post, **kw) -> Tree:
        t = self.tree_class(self.tree_id(platform), platform, categories, relevant, root, **kw)
        self.trees.append(t)
        return t

    def subreddit(self, relevant: bool) -> str:
        return self.rng.choice(["ChatGPT", "ChatGPT", "OpenAI", "dalle2", "aiArt", "singularity"]) if relevant else "ChatGPT"


class Builder(TreeBuilder):
    """The synthetic sample corpus: prompt banks taken in a shuffled order, feedback fitting each tree."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.t2i_bank = list(T2I_PROMPTS)
        self.rng.shuffle(self.t2i_bank)
        self.t2i_next = 0
        self.i2i = list(I2I_EDITS)
        self.i2i_next = 0
        self.fb_used: dict[str, int] = {}

    def take_t2i(self) -> tuple[str, str, str]:
        p = self.t2i_bank[self.t2i_next]
        self.t2i_next += 1
        return p

    def take_i2i(self) -> tuple[str, str, str, str, str]:
        p = self.i2i[self.i2i_next]
        self.i2i_next += 1
        return p

    def add_feedback(self, tree: Tree, parent: Post, tags: str, n_fb: int, n_chat: int = 0) -> list[Feedback]:
        """Reply posts under `parent`: n_fb judgements fitting the tags, n_chat remarks that are not feedback."""
        tagset = tags.split()
        fits = [f for f in FEEDBACK_BANK if f[3] == "any" or any(t in f[3].split() for t in tagset)]
        specific = [f for f in fits if f[3] != "any"]
        chosen: list[tuple[str, str, list[str], str]] = []
        while len(chosen) < min(n_fb, len(fits)):
            if specific and self.rng.random() < 0.6:
                # the least used judgement that fits, so every category gets exercised
                f = min(specific, key=lambda e: (self.fb_used.get(e[0], 0), specific.index(e)))
            else:
                f = self.rng.choice(fits)
            if f not in chosen:
                chosen.append(f)
                self.fb_used[f[0]] = self.fb_used.get(f[0], 0) + 1
        out = []
        t = parent.when
        for f in chosen:
            t = self.later(t, 3, 240)
            k = f"r{len(tree.posts())}"
            parent.replies.append(Post(k, self.author(tree.platform), self.phrase_reply(f[0]), t, likes=self.rng.randint(0, 80)))
            out.append(Feedback(k, f[1], list(f[2])))
        for _ in range(n_chat):
            t = self.later(t, 3, 240)
            k = f"r{len(tree.posts())}"
            parent.replies.append(Post(k, self.author(tree.platform), self.rng.choice(CHATTER), t, likes=self.rng.randint(0, 10)))
        return out

    def phrase_reply(self, text: str) -> str:
        r = self.rng.random()
        if r < 0.2:
            return text[0].upper() + text[1:]
        if r < 0.3:
            return text + " 😅"
        return text
